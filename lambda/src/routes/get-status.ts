import type { APIGatewayProxyResult } from 'aws-lambda';
import type { BackendCapacity } from '../backends/backend';
import type { RouteContext } from './route-context';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import { jsonResponse } from '../http/responses';
import { toPublicStatus } from '../status/public-status';

/** `GET /v1/status`: cold, warming or warm, and how long a request sent now would wait. */
export async function getStatus(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps } = context;
  let status: BackendCapacity;
  try {
    status = await deps.status.get();
  } catch (error) {
    deps.logger.error('backend status unavailable', { request_id: context.requestId, error: error as Error });
    throw new GatewayError('status_unavailable', 'the backend status cannot be read right now', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }
  return jsonResponse(200, toPublicStatus(status, deps.config, deps.config.model));
}
