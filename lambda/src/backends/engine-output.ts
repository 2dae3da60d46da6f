import { generationResponseSchema, type GenerationResponse } from '../../../contract/engine-response';
import { ENGINE_RETRY_LATER_STATUSES, ERROR_STATUS } from '../../../contract/errors';
import type { GenerationRequest } from '../../../contract/generation-request';
import type { JobError } from '../../../contract/job';
import { isWithheld, type WithheldImage } from '../../../contract/safety';
import { SCHEDULER_NAMES, type SchedulerName } from '../../../contract/limits';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import { imageKey, type ImageStore } from '../images/image-store';
import type { JobParameters, JobRecord, StoredImage } from '../jobs/job';

export class EngineOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineOutputError';
  }
}

export function parseEngineResponse(text: string): GenerationResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EngineOutputError('engine answer is not JSON');
  }
  // Checked because it crosses a process boundary.
  const result = generationResponseSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EngineOutputError(`engine answer is malformed at ${issue.path.join('.') || 'root'}: ${issue.message}`);
  }
  return result.data;
}

/** Decodes each image of the engine's answer and stores it as its own object; a withheld one has none. */
export async function storeGeneratedImages(
  jobRef: string,
  response: GenerationResponse,
  store: ImageStore,
): Promise<(StoredImage | WithheldImage)[]> {
  return Promise.all(
    response.images.map(async (image, index) => {
      if (isWithheld(image)) return { seed: image.seed, withheld: image.withheld };
      const key = imageKey(jobRef, index, image.format);
      await store.put(key, Buffer.from(image.data, 'base64'), image.format);
      return { key, width: image.width, height: image.height, seed: image.seed, format: image.format };
    }),
  );
}

/** The engine's resolved settings, in the request's own vocabulary (so they can be sent again). */
function resolvedParameters(response: GenerationResponse): Partial<JobParameters> {
  const { scheduler, ...rest } = response.parameters;
  const known = (SCHEDULER_NAMES as readonly string[]).includes(scheduler);
  return { ...rest, ...(known ? { scheduler: scheduler as SchedulerName } : {}) };
}

/** The job once the engine answered: images stored, resolved settings merged into its parameters. */
export async function succeededJob(
  job: JobRecord,
  response: GenerationResponse,
  store: ImageStore,
  completedAt: Date,
): Promise<JobRecord> {
  const images = await storeGeneratedImages(job.ref, response, store);
  return {
    ...job,
    status: 'succeeded',
    completed_at: completedAt.toISOString(),
    parameters: { ...job.parameters, ...resolvedParameters(response) },
    images,
    generation_seconds: response.timings.total_ms / 1000,
  };
}

export function failedJob(job: JobRecord, error: JobError, completedAt: Date): JobRecord {
  return { ...job, status: 'failed', completed_at: completedAt.toISOString(), error };
}

export const GENERIC_FAILURE: JobError = { code: 'generation_failed', message: 'the image could not be generated' };

/**
 * Reads an engine error body (`{error:{code,message}}`) into what the job reports. Anything else
 * (a proxy's HTML page, a stack trace) becomes a generic message: it is shown to the public.
 */
export function engineErrorOf(text: string | undefined): JobError {
  try {
    const body = JSON.parse(text ?? '') as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === 'string' && typeof message === 'string' && code.length <= 64 && message.length <= 500) {
      return { code, message };
    }
  } catch {
    // fall through to the generic message
  }
  return GENERIC_FAILURE;
}

/**
 * The request to send to the engine: the accepted request, without anything the gateway added.
 * The job record keeps no init image (it can be megabytes; a DynamoDB item holds 400 KB), so the
 * route hands the full request to `submit` beside the job.
 */
export function engineRequestOf(job: JobRecord, request?: GenerationRequest): GenerationRequest {
  return request ?? job.parameters;
}

/**
 * What a synchronous backend does with an engine error: a request the engine refuses is the
 * caller's mistake (400, naming the field); a full queue or a warming engine asks the caller to
 * come back (503 + Retry-After); anything else ends the job as failed.
 */
export function jobAfterEngineError(job: JobRecord, status: number, body: string | undefined, now: Date): JobRecord {
  if (status === ERROR_STATUS.invalid_request) {
    const parsed = engineErrorOf(body);
    let field: string | undefined;
    try {
      const candidate = (JSON.parse(body ?? '') as { error?: { field?: unknown } }).error?.field;
      field = typeof candidate === 'string' ? candidate : undefined;
    } catch {
      field = undefined;
    }
    throw new GatewayError('invalid_request', parsed === GENERIC_FAILURE ? 'the engine refused the request' : parsed.message, {
      field: field ?? 'body',
    });
  }
  if (ENGINE_RETRY_LATER_STATUSES.includes(status)) {
    throw new GatewayError('backend_busy', 'the image generator is busy; try again shortly', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }
  return failedJob(job, engineErrorOf(body), now);
}
