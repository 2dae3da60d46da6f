import type { APIGatewayProxyResult } from 'aws-lambda';
import { checkRequestAgainstModel, parseGenerationRequestBody, type GenerationRequest } from '../../../contract/generation-request';
import { DEFAULTS, LIMITS } from '../../../contract/limits';
import type { RouteContext } from './route-context';
import { GatewayError, toGatewayError } from '../http/errors';
import { bodyBytes, clientIp, header, isJsonContentType } from '../http/request';
import { jsonResponse } from '../http/responses';
import type { JobParameters, JobRecord } from '../jobs/job';
import { createJobId, jobReference } from '../jobs/job-id';
import { clientKey, type QuotaReservation } from '../quota/quota-guard';
import { publicJob, recordOutcome } from './job-view';

/** Size, media type, then schema: the cheap refusals first. The schema is the shared one, and only it. */
function readRequest(context: RouteContext): GenerationRequest {
  const body = bodyBytes(context.event);
  if (body.length > LIMITS.maxBodyBytes) {
    throw new GatewayError('body_too_large', `request body must be at most ${LIMITS.maxBodyBytes} bytes`, {
      field: 'body',
    });
  }
  if (!isJsonContentType(header(context.event, 'content-type'))) {
    throw new GatewayError('unsupported_media_type', 'send the request body as application/json');
  }
  const parsed = parseGenerationRequestBody(body);
  if (!parsed.ok) {
    throw new GatewayError(parsed.error.tooLarge ? 'body_too_large' : 'invalid_request', parsed.error.message, { field: parsed.error.field });
  }
  // What this deployment's backend cannot hold, refused before any quota is taken.
  const refused = context.deps.backend.refuse?.(parsed.request);
  if (refused) throw new GatewayError('invalid_request', refused.message, { field: refused.field });
  return parsed.request;
}

/**
 * What the deployed model cannot take (a negative prompt for a distilled model, an init image
 * without a VAE encoder), refused before any quota is taken. The model is known from the
 * deployment's configuration, else from the backend where it can ask the engine.
 */
async function checkAgainstModel(context: RouteContext, request: GenerationRequest): Promise<void> {
  const { deps } = context;
  const model = deps.config.model ?? (await deps.backend.model?.().catch(() => undefined));
  if (!model) return;
  const unfit = checkRequestAgainstModel(request, {
    acceptsInitImage: model.accepts_init_image,
    acceptsNegativePrompt: model.accepts_negative_prompt,
    distilled: !model.accepts_negative_prompt,
  });
  if (unfit) throw new GatewayError('invalid_request', unfit.message, { field: unfit.field });
}

/**
 * The request as the job record keeps and echoes it: an init image can be megabytes, more than a
 * DynamoDB item holds, and the caller has it already.
 */
function withoutInitImage(request: GenerationRequest): JobParameters {
  const { init_image: _initImage, ...kept } = request;
  return kept;
}

/** `POST /v1/images`: validate, take quota, hand to the backend, remember the job. */
export async function createImage(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps, now } = context;
  let request: GenerationRequest;
  try {
    request = readRequest(context);
    await checkAgainstModel(context, request);
  } catch (error) {
    deps.metrics.requested(1);
    deps.metrics.rejected(toGatewayError(error).code, 1);
    throw error;
  }
  const images = request.num_images ?? DEFAULTS.numImages;
  deps.metrics.requested(images);

  let reservation: QuotaReservation | undefined;
  let submitted: JobRecord;
  try {
    const secrets = await deps.secrets();
    const ip = clientIp(context.event);
    await deps.rateLimit?.admit(ip, 'createImage', now);
    reservation = await deps.quota.reserve(clientKey(ip, secrets.idSigningKey), images, now);
    // After the quota, which refunds: a GPU-time charge is never given back.
    await deps.gpuTime?.admit(images, now);
    const id = createJobId(secrets.idSigningKey);
    const job: JobRecord = {
      id,
      ref: jobReference(id, secrets.idSigningKey),
      status: 'queued',
      created_at: now.toISOString(),
      parameters: withoutInitImage(request),
      quota: reservation.ticket,
    };
    context.annotate({ job_ref: job.ref, images });
    // Recorded before the backend sees it: a job that may run always has a record, never an orphan
    // that spent the quota and the GPU while the caller got an error and no id.
    await deps.jobs.create(job);
    submitted = await deps.backend.submit(job, request);
  } catch (error) {
    deps.metrics.rejected(toGatewayError(error).code, images);
    // The backend never got the job: the caller keeps those images of today's quota.
    await reservation?.release().catch((releaseError: unknown) => {
      deps.logger.warn('quota release failed', { request_id: context.requestId, error: releaseError as Error });
    });
    throw error;
  }
  // Synchronous backends hand back a finished job; asynchronous ones add where the result will appear.
  deps.metrics.accepted(images);
  if (!(await deps.jobs.transition('queued', submitted))) {
    // Canceled while the backend had it: the cancel was recorded first, and its answer stands.
    const recorded = await deps.jobs.get(submitted);
    return jsonResponse(202, await publicJob(recorded ?? submitted, deps.images, now));
  }
  recordOutcome(deps.metrics, submitted);
  return jsonResponse(202, await publicJob(submitted, deps.images, now));
}
