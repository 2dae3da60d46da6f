import type { APIGatewayProxyResult } from 'aws-lambda';
import { isTerminal } from '../../../contract/job';
import { jsonResponse } from '../http/responses';
import { applyRetention } from '../jobs/retention';
import { findJob } from './find-job';
import { publicJob, recordOutcome } from './job-view';
import type { RouteContext } from './route-context';

/** `GET /v1/images/{id}`: the job, brought up to date from the backend while it is pending. */
export async function getImage(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps, now } = context;
  let job = applyRetention(await findJob(context), now);
  if (!isTerminal(job.status)) {
    const refreshed = await deps.backend.refresh(job);
    if (refreshed.status !== job.status) {
      if (await deps.jobs.transition(job.status, refreshed)) {
        recordOutcome(deps.metrics, refreshed);
        job = refreshed;
      } else {
        // A concurrent poll or a cancel recorded a change first; report what it recorded.
        job = (await deps.jobs.get(job)) ?? refreshed;
      }
    } else if (refreshed.progress) {
      // Progress is reported, not stored: the next poll asks the backend again.
      job = { ...job, progress: refreshed.progress };
    }
  }
  return jsonResponse(200, await publicJob(job, deps.images, now));
}
