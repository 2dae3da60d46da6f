import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RouteContext } from './route-context';
import { jsonResponse } from '../http/responses';
import { toPublicStatus } from '../status/public-status';
import { readBackendStatus } from './backend-status';

/** `GET /v1/status`: cold, warming or warm, and how long a request sent now would wait. */
export async function getStatus(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps } = context;
  const status = await readBackendStatus(context);
  return jsonResponse(200, toPublicStatus(status, deps.config, deps.config.model));
}
