import type { BackendCapacity } from '../backends/backend';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import type { RouteContext } from './route-context';

/**
 * The backend's status through the cache; unreadable, a 503 `status_unavailable` with the details
 * logged. A backend that reads cold while a visitor's warm-up is in flight (the lease is held) is
 * reported `warming` since the lease was taken: a Lambda environment staging its model is not
 * visible in the function's metrics until its run ends, and an endpoint takes a minute to show it.
 */
export async function readBackendStatus(context: RouteContext): Promise<BackendCapacity> {
  const { deps, now } = context;
  let status: BackendCapacity;
  try {
    status = await deps.status.get();
  } catch (error) {
    deps.logger.error('backend status unavailable', { request_id: context.requestId, error: error as Error });
    throw new GatewayError('status_unavailable', 'the backend status cannot be read right now', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }
  if (status.state !== 'cold' || !deps.backend.warmUp || !deps.warmUpLock) return status;
  const lease = await deps.warmUpLock.held(now);
  if (lease === undefined) return status;
  return { ...status, state: 'warming', warmingForSeconds: Math.max(0, (now.getTime() - lease.takenAt.getTime()) / 1000) };
}
