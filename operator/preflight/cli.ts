/** npm run preflight [-- -c key=value ...] [--toolkit-stack-name NAME] */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import { runCli, UsageError } from '../../container/src/cli/cli-errors';
import { DeploymentConfigError } from '../../lib/config/deployment-config';
import { runCommand } from './command-runner';
import { readDeploymentContext } from './deployment-context';
import { exitCodeOf, runPreflight } from './preflight';
import { formatResult, formatSummary } from './report';

const USAGE = `Usage: npm run preflight [-- -c key=value ...] [--toolkit-stack-name NAME]

Read-only checks before \`npx cdk deploy --all\`, for the configuration in cdk.json:
credentials and account, SageMaker and the GPU quota in the region, the CDK bootstrap stack,
Docker's linux/amd64 builds, the model folder, alert e-mails and the budget.
  -c, --context key=value   the same overrides cdk takes, e.g. -c serverlessDiffusion.backend.maxInstances=2
  --toolkit-stack-name NAME  the CDK bootstrap stack (default CDKToolkit)
Exit code 1 when a check fails; warnings alone exit 0.`;

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { context: { type: 'string', short: 'c', multiple: true }, 'toolkit-stack-name': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let deployment;
  try {
    deployment = readDeploymentContext(values.context ?? []);
  } catch (error) {
    if (!(error instanceof DeploymentConfigError)) throw error;
    process.stdout.write(`FAIL  ${'configuration'.padEnd(14)}${error.problems.join('; ')} — fix: correct cdk.json (synth would stop on the same)\n`);
    throw new Error('the configuration is invalid');
  }
  const { config, raw } = deployment;
  const region = config.region;
  process.stdout.write(
    `Preflight for ${config.appName}: ${config.backend.mode} backend${config.backend.mode === 'async' ? ` on ${config.backend.instanceType}` : ''} in ${region}\n`,
  );
  const results = await runPreflight({
    config,
    raw,
    aws: {
      sts: new STSClient({ region }),
      sagemaker: new SageMakerClient({ region }),
      serviceQuotas: new ServiceQuotasClient({ region }),
      cloudFormation: new CloudFormationClient({ region }),
      s3: new S3Client({ region, followRegionRedirects: true }),
      lambda: new LambdaClient({ region }),
    },
    run: runCommand,
    arch: process.arch,
    toolkitStackName: values['toolkit-stack-name'] ?? 'CDKToolkit',
  });
  for (const result of results) process.stdout.write(`${formatResult(result)}\n`);
  process.stdout.write(`${formatSummary(results)}\n`);
  if (exitCodeOf(results) !== 0) throw new Error(`${results.filter((result) => result.status === 'fail').length} checks failed`);
}

runCli('preflight', main);
