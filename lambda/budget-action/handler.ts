import { Logger } from '@aws-lambda-powertools/logger';
import { APIGatewayClient, GetStageCommand, UpdateStageCommand, type PatchOperation } from '@aws-sdk/client-api-gateway';
import { LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';

/**
 * Runs when the monthly budget's actual cost passes its limit (AWS Budgets → SNS → here) and stops
 * new spending: every method of the API's stage is throttled to zero, so no request starts work and
 * the engine scales in (async) or stays idle; in lambda mode the engine function's concurrency is
 * set to zero too, so runs already queued in Lambda stop. Undoing it is the operator's decision
 * (README, "Budget action"): a redeploy does not revert either change.
 */

const logger = new Logger({ serviceName: 'budget-action' });

function requireEnv(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

export interface SpendingTarget {
  readonly restApiId: string;
  readonly stageName: string;
  /** The engine function of lambda mode. */
  readonly engineFunctionName?: string;
}

/** `v1/images/POST` (a key of a stage's methodSettings) as the patch path `/~1v1~1images/POST`. */
export function methodSettingPath(key: string): string {
  const slash = key.lastIndexOf('/');
  const resource = key.slice(0, slash);
  const method = key.slice(slash + 1);
  return `/${resource === '*' ? '*' : `~1${resource.replaceAll('/', '~1')}`}/${method}`;
}

/** Throttles the stage's default and every per-method setting to zero; returns what it changed. */
export async function stopSpending(
  clients: { readonly apiGateway: APIGatewayClient; readonly lambda: LambdaClient },
  target: SpendingTarget,
): Promise<string[]> {
  const stage = await clients.apiGateway.send(new GetStageCommand({ restApiId: target.restApiId, stageName: target.stageName }));
  // The default `*/*` and any method with its own limit (POST /v1/images has a lower one).
  const keys = [...new Set(['*/*', ...Object.keys(stage.methodSettings ?? {})])];
  const patchOperations: PatchOperation[] = keys.flatMap((key) =>
    ['rateLimit', 'burstLimit'].map((limit) => ({ op: 'replace', path: `${methodSettingPath(key)}/throttling/${limit}`, value: '0' })),
  );
  await clients.apiGateway.send(new UpdateStageCommand({ restApiId: target.restApiId, stageName: target.stageName, patchOperations }));
  const done = keys.map((key) => `throttled ${key} of stage ${target.stageName} to 0`);
  if (target.engineFunctionName) {
    await clients.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: target.engineFunctionName, ReservedConcurrentExecutions: 0 }));
    done.push(`set the reserved concurrency of ${target.engineFunctionName} to 0`);
  }
  return done;
}

const clients = { apiGateway: new APIGatewayClient({}), lambda: new LambdaClient({}) };

export async function handler(event: { Records?: Array<{ Sns?: { Subject?: string } }> }): Promise<{ done: string[] }> {
  const target: SpendingTarget = {
    restApiId: requireEnv('REST_API_ID'),
    stageName: requireEnv('STAGE_NAME'),
    engineFunctionName: process.env.ENGINE_FUNCTION_NAME?.trim() || undefined,
  };
  const done = await stopSpending(clients, target);
  logger.warn('budget exceeded: stopped new spending', { subjects: (event.Records ?? []).map((record) => record.Sns?.Subject), done });
  return { done };
}
