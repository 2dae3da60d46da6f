import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RouteContext } from './route-context';
import { GatewayError } from '../http/errors';
import { jsonResponse } from '../http/responses';
import { isTerminal } from '../../../contract/job';
import { isAuthenticJobId } from '../jobs/job-id';
import { applyRetention } from '../jobs/retention';
import { publicJob, recordOutcome } from './job-view';

/** The same answer for ids we never issued and ids we no longer know: neither reveals anything. */
const notFound = () => new GatewayError('not_found', 'no such job');

/** `GET /v1/images/{id}`: the job, brought up to date from the backend while it is pending. */
export async function getImage(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps, now } = context;
  const id = context.params[0];
  const secrets = await deps.secrets();
  if (!isAuthenticJobId(id, secrets.idSigningKey)) throw notFound();
  context.annotate({ job_id: id });

  const stored = await deps.jobs.get(id);
  if (!stored) throw notFound();
  let job = applyRetention(stored, now);
  if (!isTerminal(job.status)) {
    const refreshed = await deps.backend.refresh(job);
    if (refreshed.status !== job.status) {
      if (await deps.jobs.transition(job.status, refreshed)) {
        recordOutcome(deps.metrics, refreshed);
        job = refreshed;
      } else {
        // A concurrent poll recorded the change first; report what it recorded.
        job = (await deps.jobs.get(id)) ?? refreshed;
      }
    }
  }
  return jsonResponse(200, await publicJob(job, deps.images));
}
