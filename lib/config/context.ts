import type { Node } from 'constructs';
import { CONFIG_CONTEXT_KEY, DeploymentConfig, DeploymentConfigError, parseDeploymentConfig } from './deployment-config';

/**
 * Reads the configuration from CDK context: the `serverlessDiffusion` object of cdk.json, then any
 * `serverlessDiffusion.<path>` keys on top, so one setting can change from the command line:
 * `npx cdk deploy --all -c serverlessDiffusion.backend.maxInstances=2`.
 */
export function deploymentConfigFromContext(node: Node): DeploymentConfig {
  return parseDeploymentConfig(mergeContext(node.getAllContext()));
}

/** The configuration object that the context describes, before validation. */
export function mergeContext(context: Record<string, unknown>): Record<string, unknown> {
  const base = decode(context[CONFIG_CONTEXT_KEY]);
  if (base !== undefined && !isRecord(base)) {
    throw new DeploymentConfigError([`${CONFIG_CONTEXT_KEY}: expected an object`]);
  }
  const merged: Record<string, unknown> = structuredClone(base ?? {});
  const prefix = `${CONFIG_CONTEXT_KEY}.`;
  for (const [key, value] of Object.entries(context)) {
    if (key.startsWith(prefix)) setPath(merged, key.slice(prefix.length).split('.'), decode(value));
  }
  return merged;
}

/** `-c key=value` always arrives as a string; numbers, booleans, lists and objects arrive as JSON. */
function decode(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isRecord(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
