import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';

/** The gateway's secret, a JSON document in Secrets Manager. */
export interface GatewaySecrets {
  /** Signs job ids, derives their references (what logs and storage name a job by) and keys the hashed client addresses of the quota counters. */
  readonly idSigningKey: string;
  /** Bearer token of the external GPU provider (`BACKEND_MODE=external`). */
  readonly externalApiKey?: string;
}

export type SecretsSource = () => Promise<GatewaySecrets>;

/** 32 characters of a random string is well beyond guessing; shorter keys are operator mistakes. */
export const MIN_SIGNING_KEY_LENGTH = 32;

/** Validates the secret's shape. Errors name the field, never the value. */
export function parseGatewaySecrets(value: unknown): GatewaySecrets {
  if (typeof value !== 'object' || value === null) throw new Error('gateway secret must be a JSON object');
  const { idSigningKey, externalApiKey } = value as Record<string, unknown>;
  if (typeof idSigningKey !== 'string' || idSigningKey.length < MIN_SIGNING_KEY_LENGTH) {
    throw new Error(`gateway secret field idSigningKey must be a string of at least ${MIN_SIGNING_KEY_LENGTH} characters`);
  }
  if (externalApiKey !== undefined && typeof externalApiKey !== 'string') {
    throw new Error('gateway secret field externalApiKey must be a string');
  }
  return { idSigningKey, ...(externalApiKey ? { externalApiKey } : {}) };
}

/**
 * Secrets Manager through Powertools Parameters: fetched on first use, then served from the
 * container's cache for `maxAgeSeconds`, so a rotated secret is picked up without a redeploy.
 */
export function secretsManagerSource(provider: SecretsProvider, secretArn: string, maxAgeSeconds = 900): SecretsSource {
  return async () => parseGatewaySecrets(await provider.get(secretArn, { transform: 'json', maxAge: maxAgeSeconds }));
}
