import { GatewayError } from '../http/errors';
import type { JobRecord } from '../jobs/job';
import { isAuthenticJobId, jobReference } from '../jobs/job-id';
import type { RouteContext } from './route-context';

/** The same answer for ids we never issued and ids we no longer know: neither reveals anything. */
const notFound = () => new GatewayError('not_found', 'no such job');

/** The job named by the route's `{id}`, or a 404 before any storage is read for a forged id. */
export async function findJob(context: RouteContext): Promise<JobRecord> {
  const id = context.params[0];
  const secrets = await context.deps.secrets();
  if (!isAuthenticJobId(id, secrets.idSigningKey)) throw notFound();
  const ref = jobReference(id, secrets.idSigningKey);
  context.annotate({ job_ref: ref });
  const stored = await context.deps.jobs.get({ id, ref });
  if (!stored) throw notFound();
  return stored;
}
