import type { APIGatewayProxyResult } from 'aws-lambda';
import { isTerminal } from '../../../contract/job';
import { GatewayError } from '../http/errors';
import { jsonResponse } from '../http/responses';
import type { JobRecord } from '../jobs/job';
import { applyRetention } from '../jobs/retention';
import { findJob } from './find-job';
import { publicJob } from './job-view';
import type { RouteContext } from './route-context';

const finished = (job: JobRecord) => new GatewayError('job_finished', `the job has already ${job.status === 'expired' ? 'expired' : job.status}`);

/**
 * `DELETE /v1/images/{id}`: a queued or running job becomes `canceled`. The transition is
 * conditional on the status read, so when a cancel races the job's completion exactly one of them
 * is recorded; only the cancel that wins, for a job that never started, gives the quota back.
 */
export async function cancelImage(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps, now } = context;
  const stored = await findJob(context);
  const job = applyRetention(stored, now);
  if (job.status === 'canceled') return jsonResponse(200, await publicJob(job, deps.images, now));
  if (isTerminal(job.status)) throw finished(job);

  const outcome = await deps.backend.cancel(job);
  const { progress: _progress, ...rest } = job;
  const canceled: JobRecord = { ...rest, status: 'canceled', completed_at: now.toISOString() };
  if (!(await deps.jobs.transition(job.status, canceled))) {
    // The job moved on while we asked the backend: report what won.
    const current = await findJob(context);
    if (current.status === 'canceled') return jsonResponse(200, await publicJob(current, deps.images, now));
    if (isTerminal(current.status)) throw finished(current);
    throw new GatewayError('backend_busy', 'the job changed while it was being canceled; try again', { retryAfterSeconds: 1 });
  }
  context.annotate({ cancel: outcome });
  if (outcome === 'dropped' && job.quota) {
    await deps.quota.refund(job.quota).catch((error: unknown) => {
      deps.logger.warn('quota refund failed', { request_id: context.requestId, job_ref: job.ref, error: error as Error });
    });
  }
  deps.metrics.canceled(job.parameters.num_images ?? 1);
  return jsonResponse(200, await publicJob(canceled, deps.images, now));
}
