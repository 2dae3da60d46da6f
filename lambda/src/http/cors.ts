import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ROUTES } from '../../../contract/routes';
import { GatewayError } from './errors';
import { header } from './request';

const ALLOWED_METHODS = [...[...new Set<string>(ROUTES.map((route) => route.method))].sort(), 'OPTIONS'].join(',');
const ALLOWED_HEADERS = 'Content-Type';
/** Browsers cap this anyway (Chromium at 2 h); ten minutes keeps config changes quick to apply. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Headers that let a listed origin read the response; none for anyone else. */
export function corsHeaders(event: APIGatewayProxyEvent, allowedOrigins: readonly string[]): Record<string, string> {
  const origin = header(event, 'origin');
  // Vary even when refusing, so a cache never serves one origin's answer to another.
  if (!origin || !allowedOrigins.includes(origin)) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Retry-After, X-Request-Id',
    Vary: 'Origin',
  };
}

/** Answers a CORS preflight: 204 for a listed origin, 403 in the error shape otherwise. */
export function preflightResponse(
  event: APIGatewayProxyEvent,
  allowedOrigins: readonly string[],
): APIGatewayProxyResult {
  const origin = header(event, 'origin');
  if (!origin || !allowedOrigins.includes(origin)) {
    throw new GatewayError('origin_not_allowed', 'this origin may not call the API');
  }
  return {
    statusCode: 204,
    headers: {
      'Access-Control-Allow-Methods': ALLOWED_METHODS,
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
    },
    body: '',
  };
}
