import { GatewayError } from '../http/errors';
import type { JobRecord } from '../jobs/job';
import { isAuthenticJobId } from '../jobs/job-id';
import type { RouteContext } from './route-context';

/** The same answer for ids we never issued and ids we no longer know: neither reveals anything. */
const notFound = () => new GatewayError('not_found', 'no such job');

/** The job named by the route's `{id}`, or a 404 before any storage is read for a forged id. */
export async function findJob(context: RouteContext): Promise<JobRecord> {
  const id = context.params[0];
  const secrets = await context.deps.secrets();
  if (!isAuthenticJobId(id, secrets.idSigningKey)) throw notFound();
  context.annotate({ job_id: id });
  const stored = await context.deps.jobs.get(id);
  if (!stored) throw notFound();
  return stored;
}
