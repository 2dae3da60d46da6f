/**
 * The gateway's configuration, read once at cold start from the environment the infrastructure
 * sets (the Lambda contract) or that the local launcher builds. A missing or malformed variable
 * fails the cold start with its name, instead of failing requests later.
 */

import { modelInfoSchema, type ModelInfo } from '../../contract/model-info';
import { BACKEND_MODES, GATEWAY_ENVIRONMENT as ENV, type BackendMode } from '../facts/environment';
import { STATUS_DEFAULTS } from '../facts/status-defaults';
import { AddressList } from './quota/address-list';

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

/** The gateway's own per-address rate limit, used where no WAF stands in front of it. */
export interface RateLimitConfig {
  /** Requests per address per window, on every route. */
  readonly perIp: number;
  /** `POST /v1/images` per address per window, counted on top. */
  readonly createImagePerIp: number;
  readonly windowSeconds: number;
  /** CIDRs that are never rate limited (the allow list). */
  readonly exemptCidrs: readonly string[];
}

/** The wake-up guard's budget, for a backend whose GPU sleeps. */
export interface GpuBudgetConfig {
  readonly minutesPerDay: number;
  /** Seconds an instance stays billed after its queue empties. */
  readonly idleSeconds: number;
}

/** What every deployment of the gateway, AWS or local, needs to know. */
export interface GatewayConfig {
  /** Origins allowed by CORS; same-origin callers never need to be listed. */
  readonly allowedOrigins: readonly string[];
  readonly quotaPerIpPerDay: number;
  /** The spend guard: images per UTC day for the whole site. */
  readonly quotaGlobalPerDay: number;
  /** `COLD_START_SECONDS`, @default 300 */
  readonly coldStartSeconds: number;
  /** `SECONDS_PER_IMAGE`, @default 8 */
  readonly secondsPerImage: number;
  /** `RATE_LIMIT_*`; @default - none (WAF limits the rate) */
  readonly rateLimit?: RateLimitConfig;
  /** `GPU_MINUTES_PER_DAY`, `GPU_IDLE_SECONDS`; @default - none (no GPU that sleeps) */
  readonly gpuBudget?: GpuBudgetConfig;
  /** `MODEL_INFO` (JSON): the deployed model's defaults, which the deploy reads from its folder. @default - unknown */
  readonly model?: ModelInfo;
}

/** Present when MODEL_INFO is; a value that is not the contract's model info fails the cold start. */
function readModelInfo(env: Environment): ModelInfo | undefined {
  const text = optionalEnv(env, ENV.modelInfo);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`environment variable ${ENV.modelInfo} must be JSON`);
  }
  const parsed = modelInfoSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`environment variable ${ENV.modelInfo}: ${issue.path.join('.') || 'value'} ${issue.message}`);
  }
  return parsed.data;
}

function positiveWholeNumberEnv(env: Environment, name: string): number {
  const value = wholeNumberEnv(env, name);
  if (value < 1) throw new ConfigError(`environment variable ${name} must be at least 1 but is ${value}`);
  return value;
}

/** Present when RATE_LIMIT_PER_IP is; the other variables are then required. */
function readRateLimit(env: Environment): RateLimitConfig | undefined {
  if (optionalEnv(env, ENV.rateLimitPerIp) === undefined) return undefined;
  const exemptCidrs = (optionalEnv(env, ENV.rateLimitExemptCidrs) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  try {
    new AddressList(exemptCidrs);
  } catch (error) {
    throw new ConfigError(`environment variable ${ENV.rateLimitExemptCidrs}: ${(error as Error).message}`);
  }
  return {
    perIp: positiveWholeNumberEnv(env, ENV.rateLimitPerIp),
    createImagePerIp: positiveWholeNumberEnv(env, ENV.rateLimitCreateImagePerIp),
    windowSeconds: positiveWholeNumberEnv(env, ENV.rateLimitWindowSeconds),
    exemptCidrs,
  };
}

/** Present when GPU_MINUTES_PER_DAY is. */
function readGpuBudget(env: Environment): GpuBudgetConfig | undefined {
  if (optionalEnv(env, ENV.gpuMinutesPerDay) === undefined) return undefined;
  return {
    minutesPerDay: positiveWholeNumberEnv(env, ENV.gpuMinutesPerDay),
    idleSeconds: wholeNumberEnv(env, ENV.gpuIdleSeconds),
  };
}

export function readGatewayConfig(env: Environment): GatewayConfig {
  const rateLimit = readRateLimit(env);
  const gpuBudget = readGpuBudget(env);
  const model = readModelInfo(env);
  return {
    allowedOrigins: parseOrigins(requireEnv(env, ENV.allowedOrigins)),
    quotaPerIpPerDay: wholeNumberEnv(env, ENV.quotaPerIpPerDay),
    quotaGlobalPerDay: wholeNumberEnv(env, ENV.quotaGlobalPerDay),
    coldStartSeconds: positiveNumberEnv(env, ENV.coldStartSeconds, STATUS_DEFAULTS.coldStartSeconds),
    secondsPerImage: positiveNumberEnv(env, ENV.secondsPerImage, STATUS_DEFAULTS.secondsPerImage),
    ...(rateLimit ? { rateLimit } : {}),
    ...(gpuBudget ? { gpuBudget } : {}),
    ...(model ? { model } : {}),
  };
}

/** The AWS resources the Lambda works with; each backend mode needs a different subset. */
export interface AwsResourcesConfig {
  readonly backendMode: BackendMode;
  /** SageMaker endpoint, for `async` and `serverless`. */
  readonly endpointName?: string;
  /** `WARM_ON_VISIT`, for `async`: whether a visit's warm-up wakes the GPU. @default false */
  readonly warmOnVisit: boolean;
  readonly jobsBucket: string;
  readonly inputPrefix: string;
  /** Where the engine function writes its results and progress, for `lambda`. */
  readonly outputPrefix: string;
  /** Where the gateway stores each finished image, apart from the engine's raw outputs. */
  readonly imagePrefix: string;
  /** The one DynamoDB table of daily quota counters and job records. */
  readonly quotasAndJobsTable: string;
  readonly secretArn: string;
  /** Base URL of an engine that speaks the container contract (`/invocations`, `/ping`), for `external`. */
  readonly externalUrl?: string;
  /** The engine function, for `lambda`: its name, its timeout, and where its failures go. */
  readonly engineFunction?: { readonly name: string; readonly timeoutSeconds: number; readonly failurePrefix: string };
}

function booleanEnv(env: Environment, name: string): boolean {
  const text = optionalEnv(env, name) ?? 'false';
  if (text !== 'true' && text !== 'false') {
    throw new ConfigError(`environment variable ${name} must be true or false but is ${JSON.stringify(text)}`);
  }
  return text === 'true';
}

function prefixEnv(env: Environment, name: string, fallback: string): string {
  const value = optionalEnv(env, name) ?? fallback;
  if (value.startsWith('/') || !value.endsWith('/')) {
    throw new ConfigError(`environment variable ${name} must be a key prefix like ${fallback} but is ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * JOBS_PREFIX_FAILURE is read for `lambda` only: SageMaker reports each request's failure location
 * itself (InvokeEndpointAsync's FailureLocation, from the endpoint config), and the gateway reads that.
 */
export function readAwsResourcesConfig(env: Environment): AwsResourcesConfig {
  const mode = requireEnv(env, ENV.backendMode);
  if (!(BACKEND_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      `environment variable ${ENV.backendMode} must be one of ${BACKEND_MODES.join(', ')} but is ${JSON.stringify(mode)}`,
    );
  }
  let externalUrl: string | undefined;
  if (mode === 'external') {
    externalUrl = requireEnv(env, ENV.externalUrl);
    let protocol: string | undefined;
    try {
      protocol = new URL(externalUrl).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new ConfigError(`environment variable ${ENV.externalUrl} must be an http(s) URL but is ${JSON.stringify(externalUrl)}`);
    }
  }
  return {
    backendMode: mode as BackendMode,
    endpointName: mode === 'async' || mode === 'serverless' ? requireEnv(env, ENV.endpointName) : undefined,
    warmOnVisit: booleanEnv(env, ENV.warmOnVisit),
    jobsBucket: requireEnv(env, ENV.jobsBucket),
    inputPrefix: prefixEnv(env, ENV.jobsPrefixInput, 'inputs/'),
    outputPrefix: prefixEnv(env, ENV.jobsPrefixOutput, 'outputs/'),
    imagePrefix: prefixEnv(env, ENV.jobsPrefixImage, 'images/'),
    quotasAndJobsTable: requireEnv(env, ENV.quotasAndJobsTable),
    secretArn: requireEnv(env, ENV.secretArn),
    externalUrl,
    engineFunction:
      mode === 'lambda'
        ? {
            name: requireEnv(env, ENV.engineFunctionName),
            timeoutSeconds: wholeNumberEnv(env, ENV.engineTimeoutSeconds),
            failurePrefix: prefixEnv(env, ENV.jobsPrefixFailure, 'failures/'),
          }
        : undefined,
  };
}
