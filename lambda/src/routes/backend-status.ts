import type { BackendCapacity } from '../backends/backend';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import type { RouteContext } from './route-context';

/** The backend's status through the cache; unreadable, a 503 `status_unavailable` with the details logged. */
export async function readBackendStatus(context: RouteContext): Promise<BackendCapacity> {
  try {
    return await context.deps.status.get();
  } catch (error) {
    context.deps.logger.error('backend status unavailable', { request_id: context.requestId, error: error as Error });
    throw new GatewayError('status_unavailable', 'the backend status cannot be read right now', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }
}
