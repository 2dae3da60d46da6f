/**
 * The gateway's configuration, read once at cold start from the environment the infrastructure
 * sets (the Lambda contract) or that the local launcher builds. A missing or malformed variable
 * fails the cold start with its name, instead of failing requests later.
 */

export const BACKEND_MODES = ['async', 'realtime', 'external', 'local'] as const;
export type BackendMode = (typeof BACKEND_MODES)[number];

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Returns the trimmed value of `name`, or throws naming the variable. */
export function requireEnv(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

function optionalEnv(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function wholeNumberEnv(env: Environment, name: string, fallback?: number): number {
  const text = fallback === undefined ? requireEnv(env, name) : optionalEnv(env, name);
  if (text === undefined) return fallback as number;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(`environment variable ${name} must be a whole number but is ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function positiveNumberEnv(env: Environment, name: string, fallback: number): number {
  const text = optionalEnv(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`environment variable ${name} must be a positive number but is ${JSON.stringify(text)}`);
  }
  return value;
}

/** Origins must be exact (`https://host[:port]`): a browser compares them byte for byte. */
function parseOrigins(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      let origin: string | undefined;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = undefined;
      }
      if (origin !== entry || !/^https?:$/.test(new URL(entry).protocol)) {
        throw new ConfigError(
          `environment variable ALLOWED_ORIGINS must list origins like https://example.com but contains ${JSON.stringify(entry)}`,
        );
      }
      return origin;
    });
}

/** Defaults for the wait estimate of `/v1/status` (see `status/public-status.ts`). */
export const STATUS_DEFAULTS = {
  /** ml.g4dn.xlarge: instance launch, image pull and model load take about five minutes. */
  coldStartSeconds: 300,
  /** SD 1.5 at 512x512, 25 steps, fp16 on a T4, plus encoding. */
  secondsPerImage: 8,
} as const;

/** What every deployment of the gateway, AWS or local, needs to know. */
export interface GatewayConfig {
  readonly backendMode: BackendMode;
  /** Origins allowed by CORS; same-origin callers never need to be listed. */
  readonly allowedOrigins: readonly string[];
  readonly quotaPerIpPerDay: number;
  /** The spend guard: images per UTC day for the whole site. */
  readonly quotaGlobalPerDay: number;
  /** `COLD_START_SECONDS`, @default 300 */
  readonly coldStartSeconds: number;
  /** `SECONDS_PER_IMAGE`, @default 8 */
  readonly secondsPerImage: number;
}

export function readGatewayConfig(env: Environment): GatewayConfig {
  const mode = requireEnv(env, 'BACKEND_MODE');
  if (!(BACKEND_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      `environment variable BACKEND_MODE must be one of ${BACKEND_MODES.join(', ')} but is ${JSON.stringify(mode)}`,
    );
  }
  return {
    backendMode: mode as BackendMode,
    allowedOrigins: parseOrigins(requireEnv(env, 'ALLOWED_ORIGINS')),
    quotaPerIpPerDay: wholeNumberEnv(env, 'QUOTA_PER_IP_PER_DAY'),
    quotaGlobalPerDay: wholeNumberEnv(env, 'QUOTA_GLOBAL_PER_DAY'),
    coldStartSeconds: positiveNumberEnv(env, 'COLD_START_SECONDS', STATUS_DEFAULTS.coldStartSeconds),
    secondsPerImage: positiveNumberEnv(env, 'SECONDS_PER_IMAGE', STATUS_DEFAULTS.secondsPerImage),
  };
}

/** The AWS resources the Lambda works with; each backend mode needs a different subset. */
export interface AwsResourcesConfig {
  /** SageMaker endpoint, for `async` and `realtime`. */
  readonly endpointName?: string;
  readonly jobsBucket: string;
  readonly inputPrefix: string;
  /** Where the gateway stores each finished image (beside SageMaker's own outputs). */
  readonly outputPrefix: string;
  readonly quotaTable: string;
  readonly secretArn: string;
  /** Base URL of an engine that speaks the container contract (`/invocations`, `/ping`), for `external`. */
  readonly externalUrl?: string;
}

function prefixEnv(env: Environment, name: string, fallback: string): string {
  const value = optionalEnv(env, name) ?? fallback;
  if (value.startsWith('/') || !value.endsWith('/')) {
    throw new ConfigError(`environment variable ${name} must be a key prefix like ${fallback} but is ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * JOBS_PREFIX_FAILURE is not read: SageMaker reports each request's failure location itself
 * (InvokeEndpointAsync's FailureLocation, from the endpoint config), and the gateway reads that.
 */
export function readAwsResourcesConfig(env: Environment, mode: BackendMode): AwsResourcesConfig {
  if (mode === 'local') {
    throw new ConfigError('BACKEND_MODE=local is served by `npm start`, not by Lambda');
  }
  let externalUrl: string | undefined;
  if (mode === 'external') {
    externalUrl = requireEnv(env, 'EXTERNAL_URL');
    let protocol: string | undefined;
    try {
      protocol = new URL(externalUrl).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new ConfigError(`environment variable EXTERNAL_URL must be an http(s) URL but is ${JSON.stringify(externalUrl)}`);
    }
  }
  return {
    endpointName: mode === 'async' || mode === 'realtime' ? requireEnv(env, 'ENDPOINT_NAME') : undefined,
    jobsBucket: requireEnv(env, 'JOBS_BUCKET'),
    inputPrefix: prefixEnv(env, 'JOBS_PREFIX_INPUT', 'inputs/'),
    outputPrefix: prefixEnv(env, 'JOBS_PREFIX_OUTPUT', 'outputs/'),
    quotaTable: requireEnv(env, 'QUOTA_TABLE'),
    secretArn: requireEnv(env, 'SECRET_ARN'),
    externalUrl,
  };
}
