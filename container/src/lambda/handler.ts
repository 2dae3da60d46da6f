/**
 * The engine as an AWS Lambda function (the `lambda` backend mode). The model is staged from S3
 * to ephemeral storage and loaded once per execution environment; every invocation after that
 * reuses the sessions. Settings: MODEL_S3_URI (or MODEL_DIR for a model already on disk),
 * EXECUTION_PROVIDER (default cpu), SAFETY_CHECKER (model or off; default model), ENGINE_THREADS
 * (default: every vCPU the function has), DECODER (`backend.decoder`, default auto: the tiny VAE where
 * the model has one), TINY_VAE_DIR (default: `taesd/` inside or beside the model).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { safetyCheckerFromEnv } from '../../../contract/safety';
import type { ExecutionProviderChoice } from '../engine/onnx/execution-provider';
import { threadsFromEnv } from '../../../contract/engine-threads';
import { EngineService } from '../server/engine-service';
import { createJsonLogger } from '../server/json-logger';
import { decoderFromEnv } from '../server/server-config';
import { stagedModelDir, stageModel } from './model-staging';
import { runInvocation, type InvocationOutcome } from './run-invocation';

interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

const logger = createJsonLogger();
const s3 = new S3Client({});
let loading: Promise<EngineService> | undefined;

async function loadEngine(): Promise<EngineService> {
  let modelDir = process.env.MODEL_DIR;
  if (process.env.MODEL_S3_URI) {
    const staged = await stageModel(s3, process.env.MODEL_S3_URI, stagedModelDir());
    logger.info('model staged', { bytes: staged.bytes, files: staged.files, ms: staged.ms });
    modelDir = staged.dir;
  }
  if (!modelDir) throw new Error('set MODEL_S3_URI or MODEL_DIR');
  const started = performance.now();
  const engine = await EngineService.load({
    modelDir,
    executionProvider: (process.env.EXECUTION_PROVIDER ?? 'cpu') as ExecutionProviderChoice,
    // One invocation per environment at a time: Lambda never sends a second one meanwhile.
    maxQueuedRequests: 0,
    memory: 'bounded',
    safetyChecker: safetyCheckerFromEnv(process.env),
    threads: threadsFromEnv(process.env),
    decoder: decoderFromEnv(),
    tinyVaeDir: process.env.TINY_VAE_DIR || undefined,
    // Even when a job is waiting: without the step its first image took as much longer as the step
    // takes (full-size, 2 threads: sessions 1.1 s + first image 22.6 s, against 10.1 s + 13.6 s).
    warmUp: true,
  });
  // The cold start's parts as Lambda measured them: what lib/config/lambda-engine-estimate.ts estimates.
  logger.info('model ready', {
    load_ms: Math.round(performance.now() - started),
    sessions_ms: engine.loadTimings.pipelineMs,
    session_ms: engine.loadTimings.sessionMs,
    content_filter: engine.model.content_filter,
  });
  const { warning } = engine.pipeline.safetyFilter;
  if (warning) logger.warn(`no content filter: ${warning}`);
  return engine;
}

/** A failed load is not kept: the next invocation in this environment tries again. */
function engine(): Promise<EngineService> {
  loading ??= loadEngine().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

export async function handler(event: unknown, context: LambdaContext): Promise<{ outcome: InvocationOutcome }> {
  const outcome = await runInvocation(event, {
    s3,
    engine,
    remainingMs: () => context.getRemainingTimeInMillis(),
    log: (level, message, keys) => logger[level](message, keys ?? {}),
  });
  return { outcome };
}
