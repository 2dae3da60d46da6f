/**
 * The gateway Lambda's environment contract: the infrastructure sets these variables and the
 * gateway reads them at cold start. One list, so neither side can name one the other does not.
 */
export const GATEWAY_ENVIRONMENT = {
  backendMode: 'BACKEND_MODE',
  allowedOrigins: 'ALLOWED_ORIGINS',
  quotaPerIpPerDay: 'QUOTA_PER_IP_PER_DAY',
  quotaGlobalPerDay: 'QUOTA_GLOBAL_PER_DAY',
  coldStartSeconds: 'COLD_START_SECONDS',
  secondsPerImage: 'SECONDS_PER_IMAGE',
  /** Set only without WAF: requests per address per window that the gateway itself allows. */
  rateLimitPerIp: 'RATE_LIMIT_PER_IP',
  rateLimitCreateImagePerIp: 'RATE_LIMIT_CREATE_IMAGE_PER_IP',
  rateLimitWindowSeconds: 'RATE_LIMIT_WINDOW_SECONDS',
  /** Comma-separated CIDRs that skip the gateway's rate limit (the allow list). */
  rateLimitExemptCidrs: 'RATE_LIMIT_EXEMPT_CIDRS',
  /** Set only for a GPU that sleeps (async): the wake-up guard's daily budget. */
  gpuMinutesPerDay: 'GPU_MINUTES_PER_DAY',
  /** Seconds an instance stays billed after its queue empties: the idle period and the scale-in lag. */
  gpuIdleSeconds: 'GPU_IDLE_SECONDS',
  /** `backend.warmOnVisit` (async only): `true` lets `POST /v1/warmups` wake the GPU. */
  warmOnVisit: 'WARM_ON_VISIT',
  endpointName: 'ENDPOINT_NAME',
  modelInfo: 'MODEL_INFO',
  engineFunctionName: 'ENGINE_FUNCTION_NAME',
  engineTimeoutSeconds: 'ENGINE_TIMEOUT_SECONDS',
  externalUrl: 'EXTERNAL_URL',
  jobsBucket: 'JOBS_BUCKET',
  jobsPrefixInput: 'JOBS_PREFIX_INPUT',
  jobsPrefixOutput: 'JOBS_PREFIX_OUTPUT',
  jobsPrefixFailure: 'JOBS_PREFIX_FAILURE',
  /** Where the gateway stores the images it hands out, apart from the engine's raw outputs. */
  jobsPrefixImage: 'JOBS_PREFIX_IMAGE',
  quotasAndJobsTable: 'QUOTAS_AND_JOBS_TABLE',
  secretArn: 'SECRET_ARN',
} as const;

/**
 * How the deployed gateway reaches the engine: SageMaker async, SageMaker serverless (synchronous
 * InvokeEndpoint), an external HTTP engine, or the engine as a Lambda function (asynchronous
 * Invoke). Local mode is assembled by `local/`, not chosen here.
 */
export const BACKEND_MODES = ['async', 'serverless', 'external', 'lambda'] as const;
export type BackendMode = (typeof BACKEND_MODES)[number];
