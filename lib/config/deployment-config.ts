import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { LIMITS } from '../../contract/limits';
import { modelInfoSchema, type ModelInfo } from '../../contract/model-info';
import { DEFAULT_SAFETY_CHECKER, SAFETY_CHECKER_SETTINGS } from '../../contract/safety';
import { DECODER_CHOICES } from '../../contract/decoder';
import { BACKEND_MODES } from '../../lambda/facts/environment';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { LAMBDA_WARM_MINUTES, STATUS_DEFAULTS } from '../../lambda/facts/status-defaults';
import { sagemakerHourlyPrice } from '../cost/prices';
import { embedOriginProblem } from '../../site/src/embed-origins';
import { REPO_ROOT } from '../paths';
import { cidrVersion } from './cidr';
import { describeGpuHostFamilies, GPU_HOST, gpuHostSupports } from './gpu-host';
import { LAMBDA_MAX_MEMORY_MB, lambdaEngineTimeoutSeconds } from './lambda-engine-sizing';
import { folderBytes, hasTinyVae, readModelInfo } from './model-folder';
import { deployedDecoder } from './deployed-decoder';
import { estimateLambdaEngine, type LambdaEngineEstimate } from './lambda-engine-estimate';
import { MAX_ENGINE_THREADS } from '../../contract/engine-threads';
import { ARM64_REFUSAL } from './arm64-refusal';
import { KEEP_WARM_DAYS, keepWarmWindowProblem } from './keep-warm';

export type { BackendMode } from '../../lambda/facts/environment';

/** The cdk.json context key that holds the whole configuration. */
export const CONFIG_CONTEXT_KEY = 'serverlessDiffusion';

/** Where the deploy reads the model when nothing else is configured: the tiny smoke-test model. */
export const DEFAULT_MODEL_PATH = 'test/fixtures/oracle/models/tiny-sd';

/** Architectures of the engine function; why x86_64 is the default: `lib/constructs/lambda-engine.ts`. */
export const LAMBDA_ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type LambdaArchitecture = (typeof LAMBDA_ARCHITECTURES)[number];

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

const cidr = z.string().refine((value) => cidrVersion(value) !== undefined, {
  message: 'expected an IPv4 or IPv6 CIDR block such as 203.0.113.0/24 (prefix length 1 or more)',
});

const origin = z.string().regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i, {
  message: 'expected an origin such as https://images.example.com (scheme and host, no path or trailing slash)',
});

const embedOrigin = z.string().superRefine((value, context) => {
  const problem = embedOriginProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

const siteSchema = z
  .strictObject({
    /**
     * Exact https origins of pages that may show the generator in a frame (issue 22), e.g. a blog
     * on GitHub Pages; the page's CSP then says `frame-ancestors 'self' <these>` and no
     * X-Frame-Options is sent. Empty: no page may frame the site.
     */
    embedOrigins: z.array(embedOrigin).default([]),
  })
  .prefault({});

const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, { message: 'expected an https:// URL' });

const backendSchema = z
  .strictObject({
    /**
     * `async`: GPU async endpoint that scales to zero; `serverless`: CPU serverless endpoint;
     * `lambda`: the engine as a container-image Lambda function on the CPU; `external`: no engine deployed.
     */
    mode: z.enum(BACKEND_MODES).default('async'),
    /** SageMaker instance type for `async`. A T4 (16 GB) runs SD 1.x in fp16. */
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { message: 'expected a SageMaker instance type such as ml.g4dn.xlarge' })
      .default('ml.g4dn.xlarge'),
    /** Instances at most (async); the engine function's reserved concurrency, generations at once (lambda). */
    maxInstances: z.number().int().min(1).max(20).default(1),
    /** Minutes with an empty queue before the GPU goes back to zero. */
    idleMinutesBeforeScaleIn: z.number().int().min(1).max(60).default(5),
    /** Target tracking keeps this many queued requests per instance when scaling between 1 and max. */
    backlogPerInstanceTarget: z.number().min(1).max(1000).default(4),
    /**
     * Seconds from zero instances to a ready engine (launch, image pull, model load); in lambda mode,
     * a fresh execution environment's model staging and session creation.
     * @default - 300 (`lambda/facts/status-defaults.ts`); in lambda mode estimated from the model's
     * size and the measured load (`lib/config/lambda-engine-estimate.ts`)
     */
    coldStartSeconds: z.number().int().min(30).max(3600).optional(),
    /**
     * Seconds the engine takes per image; feeds the page's wait estimate and the cost estimate.
     * @default - 8 (SD 1.5, 25 steps on a T4); in lambda mode estimated from the model's defaults
     * (steps, guidance, decoder) and measured parts (`lib/config/lambda-engine-estimate.ts`)
     */
    secondsPerImage: z.number().positive().max(600).optional(),
    /** USD per instance-hour; defaults to the us-east-1 list price of `instanceType`. */
    hourlyPriceUsd: z.number().positive().optional(),
    /** Serverless memory; SageMaker allows 1024-6144 MB in steps of 1024. */
    serverlessMemoryMb: z
      .number()
      .int()
      .min(1024)
      .max(6144)
      .refine((value) => value % 1024 === 0, { message: 'must be a multiple of 1024' })
      .default(6144),
    serverlessMaxConcurrency: z.number().int().min(1).max(200).default(2),
    /** The engine function's memory (lambda); 10,240 MB, Lambda's most, is also its 6 vCPUs. */
    lambdaMemoryMb: z.number().int().min(1024).max(LAMBDA_MAX_MEMORY_MB).default(LAMBDA_MAX_MEMORY_MB),
    lambdaArchitecture: z.enum(LAMBDA_ARCHITECTURES).default('x86_64'),
    /**
     * Async GPU mode: a visitor opening the page (`POST /v1/warmups`) wakes the GPU, so it is
     * ready by the time they ask. About $0.15 a wake-up, charged to `quotas.gpuMinutesPerDay`.
     * Lambda mode always warms on a visit; serverless and external warm nothing. @default false
     */
    warmOnVisit: z.boolean().default(false),
    /**
     * Lambda mode: an EventBridge schedule sends the engine function the warm-up event in these UTC
     * hours, so a visitor then finds an environment with the model loaded (the first image takes
     * `secondsPerImage`, not the cold start more). It costs the pings and a cold start a day
     * (`npm run cost` prices it), keeps one environment warm, and Lambda may still recycle that one
     * between pings. Why the pings are never retried: `lib/constructs/engine-keep-warm.ts`.
     * @default - off: no schedule
     */
    keepWarm: z
      .strictObject({
        /** First UTC hour of the window (0-23); the first ping is at its minute 0. */
        fromHourUtc: z.number().int().min(0).max(23),
        /** UTC hour the window ends (1-24), not included; within one day, so 24 reaches midnight. */
        toHourUtc: z.number().int().min(1).max(24),
        /**
         * Minutes between pings, from minute 0 of each hour. At `LAMBDA_WARM_MINUTES` (5) or less
         * `/v1/status` also keeps saying warm through the window: it counts the function warm that
         * long after an invocation (`lambda/facts/status-defaults.ts`). @default 5
         */
        everyMinutes: z.number().int().min(1).max(60).default(LAMBDA_WARM_MINUTES),
        /** `daily`, or `weekdays` (Monday to Friday, UTC). @default 'daily' */
        days: z.enum(KEEP_WARM_DAYS).default('daily'),
      })
      .optional(),
    /**
     * onnxruntime's intra-op threads in the engine (every mode). Unset, the engine uses every CPU
     * the host gives (`os.availableParallelism()`); onnxruntime's own default would be half.
     */
    engineThreads: z.number().int().min(1).max(MAX_ENGINE_THREADS).optional(),
    /**
     * Seconds of one denoising step at 512×512 with both guidance halves, on the function's vCPUs
     * (lambda): with the cold start and the decode, it sizes the function's timeout for the longest
     * request the API accepts. 3.5 is SD 1.5 on 6 vCPUs, extrapolated; `npm run bench:cpu` measures it.
     */
    lambdaSecondsPerStep: z.number().positive().max(60).default(3.5),
    /** Seconds of one image's VAE decode and encoding at 512×512 on the function's vCPUs (lambda). */
    lambdaSecondsPerDecode: z.number().positive().max(120).default(5),
    /**
     * Seconds of the model's safety checker on one image on the function's vCPUs (lambda), added
     * per image to the timeout and the cost where the checker runs. 1.1 is SD v1.4's checker (CLIP
     * ViT-L/14 vision) measured at 1.07 s on one onnxruntime thread (`npm run bench:safety`).
     */
    lambdaSecondsPerSafetyCheck: z.number().min(0).max(60).default(1.1),
    /**
     * Which VAE decoder makes the images: `tiny` (TAESD, found as `taesd/` inside or beside the
     * model) decodes a 512² image in ~0.4 s on 2 CPU cores against ~8.6 s for the full VAE, and
     * blurs fine detail; `auto` is tiny on a CPU (lambda mode) when the model has one, full on a GPU.
     */
    decoder: z.enum(DECODER_CHOICES).default('auto'),
    /** The engine's base URL for `external` (it must answer POST /invocations). */
    externalUrl: httpsUrl.optional(),
  })
  .prefault({});

const modelSchema = z
  .strictObject({
    /** Uncompressed model folder already in S3, e.g. s3://my-models/sd-1.5-onnx/ (trailing slash). */
    s3Uri: z
      .string()
      .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+\/)?$/, {
        message: 'expected s3://bucket/prefix/ ending with a slash (SageMaker reads it as an uncompressed prefix)',
      })
      .optional(),
    /** Local model folder, relative to the repository root; the deploy uploads it. */
    localPath: z.string().min(1).optional(),
    /**
     * What a model in S3 wants and can take (its defaults for `/v1/status`), as the engine would
     * report it; a local folder's is read from its files at synth.
     * @default - unknown: the page uses the API's defaults
     */
    info: modelInfoSchema.optional(),
  })
  .prefault({});

const apiSchema = z
  .strictObject({
    /** Origins besides the site's own that may call the API from a browser. */
    allowedOrigins: z.array(origin).default([]),
    /** Stage-wide steady requests per second. */
    throttlingRateLimit: z.number().positive().max(10000).default(10),
    throttlingBurstLimit: z.number().int().min(1).max(5000).default(20),
    /**
     * Stage-wide steady requests per second of `POST /v1/images`: each one may start GPU work, so
     * it is held lower than the reads (status and polling) that a page makes many of.
     */
    createImageThrottlingRateLimit: z.number().positive().max(10000).default(2),
    createImageThrottlingBurstLimit: z.number().int().min(1).max(5000).default(5),
  })
  .prefault({});

const wafSchema = z
  .strictObject({
    /**
     * `false`: no web ACL (it costs $5 a month plus $1 per rule). The REST API's resource policy then
     * holds the block and allow lists, and the gateway itself counts requests per address.
     */
    enabled: z.boolean().default(true),
    /** Requests per IP per window before WAF (or, without WAF, the gateway) answers 429. */
    rateLimit: z.number().int().min(10).max(2_000_000_000).default(100),
    /** `POST /v1/images` per IP per window: tighter than `rateLimit`, since each may start GPU work. */
    createImageRateLimit: z.number().int().min(10).max(2_000_000_000).default(10),
    rateWindowSeconds: z
      .union([z.literal(60), z.literal(120), z.literal(300), z.literal(600)], {
        message: 'must be one of 60, 120, 300, 600 (the windows WAF supports)',
      })
      .default(300),
    blockCidrs: z.array(cidr).default([]),
    /** Addresses that skip rate limiting and managed rules (block list still wins). */
    allowCidrs: z.array(cidr).default([]),
    /** Block everyone not in allowCidrs: a private deployment. */
    allowListOnly: z.boolean().default(false),
    /** AWS managed rule groups, $1 a month each; why only one is on: `lib/constructs/api-firewall.ts`. */
    managedRules: z
      .strictObject({
        anonymousIp: z.boolean().default(true),
        ipReputation: z.boolean().default(false),
        common: z.boolean().default(false),
        knownBadInputs: z.boolean().default(false),
      })
      .prefault({}),
  })
  .prefault({});

const quotasSchema = z
  .strictObject({
    perIpPerDay: z.number().int().min(1).default(20),
    /** The spend guard: images per UTC day for the whole site. */
    globalPerDay: z.number().int().min(1).default(500),
    /**
     * The wake-up guard (async mode): GPU instance-minutes per UTC day. Once today's are used up, a
     * job that would wake the sleeping GPU is refused until midnight; jobs for an awake GPU still run.
     */
    gpuMinutesPerDay: z.number().int().min(1).max(24 * 60 * 20).default(120),
  })
  .prefault({});

const domainSchema = z.strictObject({
  name: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    message: 'expected a lower-case DNS name such as images.example.com',
  }),
  /** ACM certificate for `name`; CloudFront only takes certificates from us-east-1. */
  certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/, {
    message: 'expected an ACM certificate ARN in us-east-1',
  }),
  /** Route 53 zone to write the alias records into; without it, point DNS at the distribution yourself. */
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/).optional(),
  hostedZoneName: z.string().optional(),
});

const configSchema = z
  .strictObject({
    /** Prefix of stack, endpoint and bucket names; letters and digits (bucket names cap the length). */
    appName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,19}$/, { message: 'expected 1-20 letters and digits, starting with a letter' })
      .default('ServerlessDiffusion'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { message: 'expected an AWS region such as us-east-1' })
      .default('us-east-1'),
    /** Account to deploy to; defaults to the CLI's current credentials. */
    account: z
      .string()
      .regex(/^\d{12}$/, { message: 'expected a 12-digit account id' })
      .optional(),
    backend: backendSchema,
    model: modelSchema,
    api: apiSchema,
    site: siteSchema,
    waf: wafSchema,
    quotas: quotasSchema,
    jobs: z
      .strictObject({
        /**
         * Days before inputs, outputs, failures and images are deleted. By default as long as the
         * gateway remembers a job (it serves results for a day and forgets the job after two), so
         * no prompt or image outlives the job that the API still answers for.
         */
        retentionDays: z
          .number()
          .int()
          .min(1)
          .max(365)
          .default(Math.ceil(JOB_RETENTION.recordSeconds / 86400)),
      })
      .prefault({}),
    budget: z
      .strictObject({
        monthlyLimitUsd: z.number().positive().default(30),
      })
      .prefault({}),
    alerts: z
      .strictObject({
        /** Who receives budget and alarm e-mails. */
        emails: z.array(z.email()).default([]),
      })
      .prefault({}),
    domain: domainSchema.optional(),
    safety: z
      .strictObject({
        /**
         * `model`: the model's own safety checker screens every image where the folder ships one
         * (`npm run model -- fetch` takes it); a flagged image is withheld. `off`: no filter.
         */
        checker: z.enum(SAFETY_CHECKER_SETTINGS).default(DEFAULT_SAFETY_CHECKER),
      })
      .prefault({}),
    logLevel: z.enum(LOG_LEVELS).default('INFO'),
  })
  .superRefine((config, context) => {
    const { backend, model, quotas, domain } = config;
    if (backend.mode === 'external' && !backend.externalUrl) {
      context.addIssue({ code: 'custom', path: ['backend', 'externalUrl'], message: 'is required when backend.mode is "external"' });
    }
    if (model.s3Uri && model.localPath) {
      context.addIssue({ code: 'custom', path: ['model'], message: 'set either s3Uri or localPath, not both' });
    }
    if (model.info && !model.s3Uri) {
      context.addIssue({
        code: 'custom',
        path: ['model', 'info'],
        message: "is for a model.s3Uri model only: a local folder's info is read from its files",
      });
    }
    if (model.localPath && !isDirectory(model.localPath)) {
      context.addIssue({
        code: 'custom',
        path: ['model', 'localPath'],
        message: `no folder at ${path.resolve(REPO_ROOT, model.localPath)}`,
      });
    }
    if (backend.mode === 'async' && !gpuHostSupports(backend.instanceType)) {
      context.addIssue({
        code: 'custom',
        path: ['backend', 'instanceType'],
        message: `${backend.instanceType} is not in an instance family the pinned GPU host image ${GPU_HOST.inferenceAmiVersion} supports: ${describeGpuHostFamilies()}`,
      });
    }
    if (backend.mode === 'async' && backend.hourlyPriceUsd === undefined && !sagemakerHourlyPrice(backend.instanceType)) {
      context.addIssue({
        code: 'custom',
        path: ['backend', 'hourlyPriceUsd'],
        message: `is required for ${backend.instanceType}, which the price table does not list`,
      });
    }
    if (backend.lambdaArchitecture === 'arm64') {
      context.addIssue({ code: 'custom', path: ['backend', 'lambdaArchitecture'], message: ARM64_REFUSAL });
    }
    if (backend.keepWarm && backend.mode !== 'lambda') {
      context.addIssue({
        code: 'custom',
        path: ['backend', 'keepWarm'],
        message: `is for backend.mode "lambda" only (it pings the engine function), not "${backend.mode}"`,
      });
    }
    const keepWarmProblem = backend.keepWarm && keepWarmWindowProblem(backend.keepWarm);
    if (keepWarmProblem) context.addIssue({ code: 'custom', path: ['backend', 'keepWarm'], message: keepWarmProblem });
    if (quotas.perIpPerDay > quotas.globalPerDay) {
      context.addIssue({ code: 'custom', path: ['quotas', 'perIpPerDay'], message: 'must not exceed quotas.globalPerDay' });
    }
    if (config.waf.createImageRateLimit > config.waf.rateLimit) {
      context.addIssue({ code: 'custom', path: ['waf', 'createImageRateLimit'], message: 'must not exceed waf.rateLimit' });
    }
    if (config.api.createImageThrottlingRateLimit > config.api.throttlingRateLimit) {
      context.addIssue({
        code: 'custom',
        path: ['api', 'createImageThrottlingRateLimit'],
        message: 'must not exceed api.throttlingRateLimit',
      });
    }
    if (config.api.createImageThrottlingBurstLimit > config.api.throttlingBurstLimit) {
      context.addIssue({
        code: 'custom',
        path: ['api', 'createImageThrottlingBurstLimit'],
        message: 'must not exceed api.throttlingBurstLimit',
      });
    }
    if (config.waf.allowListOnly && config.waf.allowCidrs.length === 0) {
      context.addIssue({ code: 'custom', path: ['waf', 'allowCidrs'], message: 'must not be empty when waf.allowListOnly is true' });
    }
    if (domain && (domain.hostedZoneId === undefined) !== (domain.hostedZoneName === undefined)) {
      context.addIssue({ code: 'custom', path: ['domain', 'hostedZoneId'], message: 'hostedZoneId and hostedZoneName go together' });
    }
  });

export type DeploymentConfigInput = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

/**
 * Where the engine's model comes from, resolved, with what it wants and can take: read from a
 * local folder, given in the configuration for S3 (or unknown).
 */
export type ModelSource =
  | { readonly kind: 's3'; readonly s3Uri: string; readonly info?: ModelInfo }
  | {
      readonly kind: 'local';
      readonly path: string;
      readonly info: ModelInfo;
      readonly hasTinyVae?: boolean;
      /** Every file's bytes, and the graphs' (model.onnx: their inline weights). */
      readonly bytes: number;
      readonly graphBytes: number;
    };

/** The validated configuration with every default applied and derived values resolved. */
export interface DeploymentConfig extends Omit<ParsedConfig, 'backend' | 'model'> {
  readonly backend: Omit<ParsedConfig['backend'], 'coldStartSeconds' | 'secondsPerImage'> & {
    /** The configured value, else the mode's default. */
    readonly coldStartSeconds: number;
    readonly secondsPerImage: number;
    /** USD per GPU instance-hour, from the configuration or the price table. */
    readonly hourlyPriceUsd: number;
    /** The engine function's timeout (lambda), sized from the request limits and the timing settings. */
    readonly lambdaTimeoutSeconds: number;
    /** Seconds the safety checker adds per image (lambda): `lambdaSecondsPerSafetyCheck` where it runs, else 0. */
    readonly lambdaSafetyCheckSecondsPerImage: number;
    /** Lambda mode: what the cold start and the image are estimated at for this model, in parts (lambda-engine-estimate.ts). */
    readonly lambdaEstimate?: LambdaEngineEstimate;
  };
  readonly model: ModelSource;
  /** SageMaker endpoint name; fixed so the gateway can name it without a cross-stack reference. */
  readonly endpointName: string;
}

/** Thrown when the configuration is invalid; the message names every bad key. */
export class DeploymentConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration in cdk.json context "${CONFIG_CONTEXT_KEY}":\n` + problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'DeploymentConfigError';
  }
}

/** Validates raw configuration (cdk.json context), applies defaults and derives dependent values. */
export function parseDeploymentConfig(raw: unknown): DeploymentConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new DeploymentConfigError(result.error.issues.flatMap(describeIssue));
  }
  const config = result.data;
  const { backend } = config;
  const model = resolveModelSource(config.model, config.safety.checker);
  const safetyChecker = safetyCheckerRuns(config.safety.checker, model);
  const lambdaEstimate = backend.mode === 'lambda' ? estimateForModel(model, backend.decoder, safetyChecker) : undefined;
  // Whole seconds up, where the configuration does not give them.
  const waitDefaults = lambdaEstimate
    ? { coldStartSeconds: Math.ceil(lambdaEstimate.coldStartSeconds), secondsPerImage: Math.ceil(lambdaEstimate.secondsPerImage) }
    : STATUS_DEFAULTS;
  const coldStartSeconds = backend.coldStartSeconds ?? waitDefaults.coldStartSeconds;
  const safetyCheckSeconds = safetyChecker ? backend.lambdaSecondsPerSafetyCheck : 0;
  return {
    ...config,
    backend: {
      ...backend,
      coldStartSeconds,
      secondsPerImage: backend.secondsPerImage ?? waitDefaults.secondsPerImage,
      hourlyPriceUsd: backend.hourlyPriceUsd ?? sagemakerHourlyPrice(backend.instanceType) ?? 0,
      lambdaSafetyCheckSecondsPerImage: safetyCheckSeconds,
      ...(lambdaEstimate ? { lambdaEstimate } : {}),
      lambdaTimeoutSeconds: lambdaEngineTimeoutSeconds({
        coldStartSeconds,
        secondsPerStep: backend.lambdaSecondsPerStep,
        secondsPerDecode: backend.lambdaSecondsPerDecode,
        secondsPerSafetyCheck: safetyCheckSeconds,
        maxSteps: LIMITS.stepsMax,
        maxImages: LIMITS.numImagesMax,
      }),
    },
    model,
    endpointName: kebabCase(config.appName),
  };
}

/**
 * Lambda mode's cold start and image for this model: its files, its defaults and the decoder the
 * function will run; where that is not known (a model in S3 with `auto`), the full one, the slower.
 */
function estimateForModel(model: ModelSource, decoder: ParsedConfig['backend']['decoder'], safetyChecker: boolean): LambdaEngineEstimate {
  const info = model.info === undefined ? undefined : { ...model.info, decoder: deployedDecoder(model, decoder, 'lambda') ?? 'full' };
  const files = model.kind === 'local' ? { bytes: model.bytes, inlineWeightBytes: model.graphBytes } : {};
  return estimateLambdaEngine({ ...files, ...(info ? { info } : {}), safetyChecker });
}

/** Whether the engine will run a safety checker: on, and the folder has one (a model in S3 is assumed to). */
function safetyCheckerRuns(setting: ParsedConfig['safety']['checker'], model: ModelSource): boolean {
  if (setting === 'off') return false;
  return model.kind === 's3' || model.info.content_filter === 'safety_checker';
}

function resolveModelSource(model: ParsedConfig['model'], safetyChecker: ParsedConfig['safety']['checker']): ModelSource {
  if (model.s3Uri) return { kind: 's3', s3Uri: model.s3Uri, ...(model.info ? { info: model.info } : {}) };
  const folder = path.resolve(REPO_ROOT, model.localPath ?? DEFAULT_MODEL_PATH);
  try {
    return { kind: 'local', path: folder, info: readModelInfo(folder, safetyChecker), hasTinyVae: hasTinyVae(folder), ...folderBytes(folder) };
  } catch (error) {
    throw new DeploymentConfigError([`${CONFIG_CONTEXT_KEY}.model.localPath: ${(error as Error).message}`]);
  }
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const key = [CONFIG_CONTEXT_KEY, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((unknownKey) => `${key}.${unknownKey}: unknown key`);
  }
  return [`${key}: ${issue.message}`];
}

function isDirectory(relativePath: string): boolean {
  const absolute = path.resolve(REPO_ROOT, relativePath);
  return existsSync(absolute) && statSync(absolute).isDirectory();
}

function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}
