/**
 * Lambda mode's spend cap is the engine function's reserved concurrency, and Lambda lets a function
 * reserve only what leaves 100 of the account's concurrency unreserved. New accounts often start
 * with a "Concurrent executions" quota of 10 or 50, where the deploy fails halfway
 * ("decreases account's UnreservedConcurrentExecution below its minimum value").
 */
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import { engineFunctionName } from '../../../lib/config/resource-names';
import { AwsCallError, callAws, type Check, type PreflightContext } from '../check';

/** What Lambda keeps unreserved for the account's other functions (its documented minimum). */
export const MIN_UNRESERVED_CONCURRENCY = 100;
/** Service Quotas' code for Lambda's "Concurrent executions". */
export const CONCURRENT_EXECUTIONS_QUOTA_CODE = 'L-B99A9384';

export const lambdaConcurrency: Check = {
  name: 'Lambda quota',
  usesAws: true,
  async run(context) {
    const { maxInstances } = context.config.backend;
    const { region } = context.config;
    const settings = await callAws('Lambda GetAccountSettings', () => context.aws.lambda.send(new GetAccountSettingsCommand({})));
    const total = settings.AccountLimit?.ConcurrentExecutions;
    const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions;
    if (total === undefined || unreserved === undefined) {
      return { status: 'warn', message: 'Lambda GetAccountSettings answered without the account\'s concurrency limits', fix: 'check "Concurrent executions" in Service Quotas (AWS Lambda) by hand' };
    }
    // A redeploy keeps what the engine function already holds: it counts as free for this check.
    const held = await reservedByEngine(context);
    const left = unreserved + held - maxInstances;
    if (left < MIN_UNRESERVED_CONCURRENCY) {
      const needed = total + (MIN_UNRESERVED_CONCURRENCY - left);
      return {
        status: 'fail',
        message:
          `"Concurrent executions" is ${total} in ${region} with ${unreserved} unreserved${held > 0 ? ` (and ${held} the engine function already holds)` : ''}: reserving backend.maxInstances ${maxInstances} ` +
          `for the engine function would leave ${left}, below the ${MIN_UNRESERVED_CONCURRENCY} Lambda keeps unreserved, so the deploy would fail`,
        fix:
          `aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${CONCURRENT_EXECUTIONS_QUOTA_CODE} ` +
          `--desired-value ${needed} --region ${region}` +
          (unreserved + held - MIN_UNRESERVED_CONCURRENCY >= 1 ? ` (or lower ${CONFIG_CONTEXT_KEY}.backend.maxInstances)` : ''),
      };
    }
    return {
      status: 'pass',
      message: `"Concurrent executions" is ${total} with ${unreserved} unreserved: room for backend.maxInstances ${maxInstances} and ${MIN_UNRESERVED_CONCURRENCY} for other functions`,
    };
  },
};

async function reservedByEngine(context: PreflightContext): Promise<number> {
  try {
    const current = await context.aws.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: engineFunctionName(context.config) }));
    return current.ReservedConcurrentExecutions ?? 0;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return 0;
    throw new AwsCallError('Lambda GetFunctionConcurrency', error);
  }
}
