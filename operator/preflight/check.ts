/**
 * What a preflight check is: a read-only look at one thing a deploy needs, answering pass, warn
 * or fail with the fix in one line. A check that cannot look (an AWS API that errors, a command
 * that hangs) is a warning that names what failed, never a crash of the whole preflight.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';
import type { DeploymentConfig } from '../../lib/config/deployment-config';
import type { CommandRunner } from './command-runner';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckOutcome {
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about a warn or fail, in one line. */
  readonly fix?: string;
}

export interface CheckResult extends CheckOutcome {
  readonly name: string;
}

export interface AwsClients {
  readonly sts: STSClient;
  readonly sagemaker: SageMakerClient;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly cloudFormation: CloudFormationClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
}

export interface PreflightContext {
  readonly config: DeploymentConfig;
  /** The configuration as written (cdk.json and -c), before defaults: tells a choice from a default. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly aws: AwsClients;
  readonly run: CommandRunner;
  /** `process.arch` of the machine that will build the image. */
  readonly arch: string;
  /** The CDK bootstrap stack. @default 'CDKToolkit' */
  readonly toolkitStackName: string;
  /** The account the credentials belong to, once the credentials check found it. */
  readonly account?: string;
}

export interface Check {
  readonly name: string;
  /** Needs working AWS credentials; skipped (as a warning) without them. */
  readonly usesAws: boolean;
  run(context: PreflightContext): Promise<CheckOutcome>;
}

/** An AWS call that failed, remembered with the API's name. */
export class AwsCallError extends Error {
  constructor(
    readonly api: string,
    readonly cause: unknown,
  ) {
    const error = cause as { name?: string; message?: string };
    super(`${api} failed: ${error.name ?? 'Error'}: ${(error.message ?? String(cause)).split('\n')[0]}`);
    this.name = 'AwsCallError';
  }

  /** The SDK's error name, e.g. AccessDeniedException. */
  get errorName(): string | undefined {
    return (this.cause as { name?: string }).name;
  }
}

/** Runs one AWS call, naming the API if it fails. */
export async function callAws<T>(api: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new AwsCallError(api, error);
  }
}

/** Runs a check; whatever it throws becomes a warning that says what could not be looked at. */
export async function runCheck(check: Check, context: PreflightContext): Promise<CheckResult> {
  try {
    return { name: check.name, ...(await check.run(context)) };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const denied = error instanceof AwsCallError && /AccessDenied|UnauthorizedOperation|NotAuthorized/.test(error.errorName ?? '');
    return {
      name: check.name,
      status: 'warn',
      message: `could not check: ${message}`,
      fix: denied ? `allow ${error.api} to these credentials, or check this by hand` : 'check this by hand, or run the preflight again',
    };
  }
}
