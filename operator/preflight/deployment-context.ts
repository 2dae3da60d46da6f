/**
 * The deployment configuration as the CDK app reads it: cdk.json's context with `-c key=value`
 * overrides on top, through the same `mergeContext` and `parseDeploymentConfig`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../container/src/cli/cli-errors';
import { mergeContext } from '../../lib/config/context';
import { parseDeploymentConfig, type DeploymentConfig } from '../../lib/config/deployment-config';
import { REPO_ROOT } from '../../lib/paths';

export interface DeploymentContext {
  readonly config: DeploymentConfig;
  /** The merged configuration before defaults. */
  readonly raw: Record<string, unknown>;
}

/** `overrides` as given to `cdk -c`: `key=value`, the value a string that may hold JSON. */
export function readDeploymentContext(overrides: readonly string[], cdkJson = join(REPO_ROOT, 'cdk.json')): DeploymentContext {
  const context: Record<string, unknown> = { ...(JSON.parse(readFileSync(cdkJson, 'utf8')).context ?? {}) };
  for (const override of overrides) {
    const equals = override.indexOf('=');
    if (equals <= 0) throw new UsageError(`-c takes key=value, as cdk does, but got ${JSON.stringify(override)}`);
    context[override.slice(0, equals)] = override.slice(equals + 1);
  }
  const raw = mergeContext(context);
  return { raw, config: parseDeploymentConfig(raw) };
}
