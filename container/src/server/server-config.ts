import { safetyCheckerFromEnv, type SafetyCheckerSetting } from '../../../contract/safety';
import { DECODER_CHOICES, isDecoderChoice, type DecoderChoice } from '../../../contract/decoder';
import { EXECUTION_PROVIDER_CHOICES, type ExecutionProviderChoice } from '../engine/onnx/execution-provider';
import { threadsFromEnv } from '../../../contract/engine-threads';

export interface ServerConfig {
  /** @default SAGEMAKER_BIND_TO_PORT, else PORT, else 8080 */
  readonly port: number;
  /** @default '0.0.0.0' (SageMaker reaches the container from outside) */
  readonly host: string;
  /** @default MODEL_DIR, else /opt/ml/model */
  readonly modelDir: string;
  /** @default EXECUTION_PROVIDER, else 'auto' */
  readonly executionProvider: ExecutionProviderChoice;
  /** Requests allowed to wait behind the running one before new ones get 429. @default 4 */
  readonly maxQueuedRequests: number;
  /** Longest a request may take from arrival to answer, waiting included. @default 600000 (SageMaker async's own limit is an hour) */
  readonly requestTimeoutMs: number;
  /** How long SIGTERM lets the running generation finish before cancelling it. @default 5000 */
  readonly shutdownGraceMs: number;
  /** Prompts are private to the people who typed them; log them only when the operator opts in. @default false */
  readonly logPrompts: boolean;
  /** The model's safety checker (`model`) or none (`off`). @default SAFETY_CHECKER, else 'model' */
  readonly safetyChecker: SafetyCheckerSetting;
  /** onnxruntime's intra-op threads. @default ENGINE_THREADS, else every CPU the host gives */
  readonly threads?: number;
  /** @default DECODER, else 'auto' */
  readonly decoder: DecoderChoice;
  /** @default TINY_VAE_DIR, else - `taesd/` inside or beside the model */
  readonly tinyVaeDir: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the server's settings from the environment, naming any variable that is wrong. */
export function serverConfigFromEnv(env: Env = process.env): ServerConfig {
  const executionProvider = (env.EXECUTION_PROVIDER ?? 'auto') as ExecutionProviderChoice;
  if (!EXECUTION_PROVIDER_CHOICES.includes(executionProvider)) {
    throw new Error(`EXECUTION_PROVIDER must be one of ${EXECUTION_PROVIDER_CHOICES.join(', ')} but is ${JSON.stringify(env.EXECUTION_PROVIDER)}`);
  }
  return {
    port: integer(env, env.SAGEMAKER_BIND_TO_PORT !== undefined ? 'SAGEMAKER_BIND_TO_PORT' : 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    modelDir: env.MODEL_DIR ?? '/opt/ml/model',
    executionProvider,
    maxQueuedRequests: integer(env, 'MAX_QUEUED_REQUESTS', 4, 0, 1000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 600_000, 1_000, 3_600_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 5_000, 0, 60_000),
    logPrompts: env.LOG_PROMPTS === 'true',
    safetyChecker: safetyCheckerFromEnv(env),
    threads: threadsFromEnv(env),
    decoder: decoderFromEnv(env),
    tinyVaeDir: env.TINY_VAE_DIR || undefined,
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max} but is ${JSON.stringify(raw)}`);
  }
  return value;
}

/** `DECODER` (the deployment's `backend.decoder`), shared by the engine server and the Lambda engine function. */
export function decoderFromEnv(env: Env = process.env): DecoderChoice {
  const value = env.DECODER || 'auto';
  if (!isDecoderChoice(value)) throw new Error(`DECODER must be one of ${DECODER_CHOICES.join(', ')} but is ${JSON.stringify(env.DECODER)}`);
  return value;
}
