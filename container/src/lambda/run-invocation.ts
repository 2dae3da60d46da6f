import type { S3Client } from '@aws-sdk/client-s3';
import { engineInvocationSchema, engineWarmUpEventSchema, PROGRESS_WRITE_INTERVAL_MS, type EngineInvocation, type EngineProgress } from '../../../contract/engine-invocation';
import type { ErrorBody, EngineErrorCode } from '../../../contract/errors';
import { parseGenerationRequestBody } from '../../../contract/generation-request';
import { checkLambdaLimits } from '../../../contract/lambda-limits';
import { InvalidGenerationInputError } from '../engine/errors';
import type { EngineService } from '../server/engine-service';
import { readText, writeJson } from './s3-objects';

export interface InvocationDependencies {
  readonly s3: S3Client;
  /** The loaded engine of this execution environment; rejects when the model cannot be loaded. */
  readonly engine: () => Promise<EngineService>;
  /** Milliseconds until Lambda stops this invocation. */
  readonly remainingMs: () => number;
  readonly log: (level: 'info' | 'error', message: string, keys?: Record<string, unknown>) => void;
  readonly now?: () => Date;
}

/** What the invocation did, for its log line and for tests. */
export type InvocationOutcome = 'succeeded' | 'failed' | 'canceled' | 'warmed';

/** Stop this long before Lambda's own timeout, so the failure is written by us rather than lost. */
export const TIMEOUT_MARGIN_MS = 10_000;

class Canceled extends Error {}
class OutOfTime extends Error {}

function errorBody(code: EngineErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/**
 * One generation for the gateway's `lambda` backend: read the request from S3, run it, write the
 * engine's JSON answer (or its error body) where the gateway looks, and keep a progress object up
 * to date meanwhile. Progress is written before the cancel marker is first read; the gateway's
 * cancel relies on that order (see `lambda/src/backends/lambda-engine-backend.ts`).
 */
export async function runInvocation(event: unknown, deps: InvocationDependencies): Promise<InvocationOutcome> {
  if (engineWarmUpEventSchema.safeParse(event).success) {
    // A visitor arrived (`POST /v1/warmups`, or keep-warm's schedule): staging, sessions and the
    // warm-up step happen now, so the job that follows finds this environment warm. Nothing is
    // generated or written.
    const started = performance.now();
    const engine = await deps.engine();
    const warmUpMs = await engine.warmUp();
    deps.log('info', 'warmed', { ms: Math.round(performance.now() - started), warm_up_ms: warmUpMs });
    return 'warmed';
  }
  const parsed = engineInvocationSchema.safeParse(event);
  if (!parsed.success) {
    // Nothing says where to answer: only the on-failure path and the logs can tell.
    throw new Error(`not an engine invocation: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  }
  const invocation = parsed.data;
  const now = deps.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const fail = async (body: ErrorBody): Promise<InvocationOutcome> => {
    await writeJson(deps.s3, invocation.failure_location, body);
    deps.log('error', 'generation failed', { job_ref: invocation.job_ref, code: body.error.code });
    return 'failed';
  };

  await writeProgress(deps.s3, invocation, { started_at: startedAt, step: 0, steps: 0 });
  if ((await readText(deps.s3, invocation.cancel_location)) !== undefined) {
    deps.log('info', 'canceled before it started', { job_ref: invocation.job_ref });
    return 'canceled';
  }

  const body = await readText(deps.s3, invocation.input_location);
  if (body === undefined) return fail(errorBody('invalid_request', 'the request was not found', 'body'));
  const request = parseGenerationRequestBody(body);
  if (!request.ok) return fail(errorBody('invalid_request', request.error.message, request.error.field));
  const refused = checkLambdaLimits(request.request);
  if (refused) return fail(errorBody('invalid_request', refused.message, refused.field));

  let engine: EngineService;
  try {
    engine = await deps.engine();
  } catch (error) {
    deps.log('error', 'model failed to load', { error: (error as Error).message });
    return fail(errorBody('internal_error', 'the image generator could not load its model'));
  }

  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new OutOfTime()), Math.max(0, deps.remainingMs() - TIMEOUT_MARGIN_MS));
  let lastWrite = Date.now();
  let previewWritten = false;
  let writing: Promise<void> = Promise.resolve();
  const onProgress = ({ step, steps, preview }: { step: number; steps: number; preview?: string }) => {
    // The first preview goes out at once: it is the visitor's first sign that the job is painting.
    const firstPreview = preview !== undefined && !previewWritten;
    if (!firstPreview && Date.now() - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
    lastWrite = Date.now();
    if (preview !== undefined) previewWritten = true;
    // One write (and cancel check) at a time; a slow S3 call skips a beat rather than piling up.
    writing = writing.then(async () => {
      await writeProgress(deps.s3, invocation, { started_at: startedAt, step, steps, ...(preview ? { preview } : {}) });
      if ((await readText(deps.s3, invocation.cancel_location)) !== undefined) controller.abort(new Canceled());
    }).catch((error: unknown) => deps.log('error', 'progress write failed', { error: String(error) }));
  };
  try {
    const result = await engine.invoke({ id: invocation.job_ref, request: request.request, signal: controller.signal, onProgress });
    await writing;
    await writeJson(deps.s3, invocation.output_location, result.response);
    deps.log('info', 'generation succeeded', { job_ref: invocation.job_ref, ...result.response.timings });
    return 'succeeded';
  } catch (error) {
    await writing;
    const reason = controller.signal.reason;
    if (reason instanceof Canceled) {
      deps.log('info', 'canceled while running', { job_ref: invocation.job_ref });
      return 'canceled';
    }
    if (reason instanceof OutOfTime) return fail(errorBody('timeout', 'the generation ran past the time limit of the image generator'));
    if (error instanceof InvalidGenerationInputError) return fail(errorBody('invalid_request', error.message, error.field));
    deps.log('error', 'engine error', { job_ref: invocation.job_ref, error: (error as Error).message });
    return fail(errorBody('internal_error', 'the image could not be generated'));
  } finally {
    clearTimeout(deadline);
  }
}

function writeProgress(s3: S3Client, invocation: EngineInvocation, progress: EngineProgress): Promise<void> {
  return writeJson(s3, invocation.progress_location, progress);
}
