/**
 * The quota that most often stops a first deploy: "<instance type> for endpoint usage" is 0 on new
 * accounts, and an async endpoint without it never gets its GPU (the WakeUpStalled alarm fires).
 */
import { ListAWSDefaultServiceQuotasCommand, ListServiceQuotasCommand, type ServiceQuota } from '@aws-sdk/client-service-quotas';
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import { callAws, type Check, type PreflightContext } from '../check';

const SERVICE_CODE = 'sagemaker';

export const endpointQuota: Check = {
  name: 'GPU quota',
  usesAws: true,
  async run(context) {
    const { instanceType, maxInstances } = context.config.backend;
    const { region } = context.config;
    const quotaName = `${instanceType} for endpoint usage`;
    // Applied values first; quotas never changed may be listed only with AWS's default.
    const applied = await findQuota(context, quotaName, 'applied');
    const quota = applied ?? (await findQuota(context, quotaName, 'default'));
    if (!quota) {
      return {
        status: 'fail',
        message: `Service Quotas has no "${quotaName}" in ${region}: ${instanceType} is not offered for endpoints there`,
        fix: `choose another ${CONFIG_CONTEXT_KEY}.backend.instanceType or ${CONFIG_CONTEXT_KEY}.region`,
      };
    }
    const value = quota.Value ?? 0;
    const source = applied ? '' : ' (AWS default)';
    if (value < maxInstances) {
      return {
        status: 'fail',
        message: `"${quotaName}" is ${value}${source} in ${region} but backend.maxInstances is ${maxInstances}: the endpoint could not start its GPU`,
        fix:
          `aws service-quotas request-service-quota-increase --service-code ${SERVICE_CODE} --quota-code ${quota.QuotaCode} ` +
          `--desired-value ${maxInstances} --region ${region} (or lower backend.maxInstances)`,
      };
    }
    return { status: 'pass', message: `"${quotaName}" is ${value}${source}, enough for backend.maxInstances ${maxInstances}` };
  },
};

async function findQuota(context: PreflightContext, quotaName: string, which: 'applied' | 'default'): Promise<ServiceQuota | undefined> {
  const api = which === 'applied' ? 'ServiceQuotas ListServiceQuotas' : 'ServiceQuotas ListAWSDefaultServiceQuotas';
  let token: string | undefined;
  do {
    const page = await callAws(api, () =>
      context.aws.serviceQuotas.send(
        which === 'applied'
          ? new ListServiceQuotasCommand({ ServiceCode: SERVICE_CODE, NextToken: token, MaxResults: 100 })
          : new ListAWSDefaultServiceQuotasCommand({ ServiceCode: SERVICE_CODE, NextToken: token, MaxResults: 100 }),
      ),
    );
    const found = page.Quotas?.find((quota) => quota.QuotaName === quotaName);
    if (found) return found;
    token = page.NextToken;
  } while (token);
  return undefined;
}
