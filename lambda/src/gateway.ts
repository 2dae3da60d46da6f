import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { GenerationBackend } from './backends/backend';
import type { GatewayConfig } from './config';
import { corsHeaders, preflightResponse } from './http/cors';
import { GatewayError, toGatewayError } from './http/errors';
import { routePath } from './http/request';
import { errorResponse } from './http/responses';
import type { ImageStore } from './images/image-store';
import type { JobStore } from './jobs/job-store';
import type { GatewayMetrics } from './metrics';
import type { QuotaGuard } from './quota/quota-guard';
import { createImage } from './routes/create-image';
import { getImage } from './routes/get-image';
import { getOpenApi } from './routes/get-openapi';
import { getStatus } from './routes/get-status';
import type { SecretsSource } from './secrets';
import type { StatusCache } from './status/status-cache';

/** Everything the gateway works with; AWS and local mode each assemble their own. */
export interface GatewayDependencies {
  readonly config: GatewayConfig;
  readonly backend: GenerationBackend;
  readonly jobs: JobStore;
  readonly images: ImageStore;
  readonly quota: QuotaGuard;
  readonly secrets: SecretsSource;
  readonly status: StatusCache;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now?: () => Date;
}

/** What a route gets: the request, the dependencies, and the captures of its path pattern. */
export interface RouteContext {
  readonly event: APIGatewayProxyEvent;
  readonly deps: GatewayDependencies;
  readonly requestId: string;
  readonly now: Date;
  readonly params: readonly string[];
  /** Adds keys to this request's log line (never the prompt). */
  readonly annotate: (keys: Record<string, string | number>) => void;
}

type Route = (context: RouteContext) => Promise<APIGatewayProxyResult>;

const ROUTES: ReadonlyArray<{ readonly name: string; readonly pattern: RegExp; readonly methods: Readonly<Record<string, Route>> }> = [
  { name: '/v1/images', pattern: /^\/v1\/images\/?$/, methods: { POST: createImage } },
  { name: '/v1/images/{id}', pattern: /^\/v1\/images\/([^/]+)$/, methods: { GET: getImage } },
  { name: '/v1/status', pattern: /^\/v1\/status$/, methods: { GET: getStatus } },
  { name: '/v1/openapi.json', pattern: /^\/v1\/openapi\.json$/, methods: { GET: getOpenApi } },
];

function dispatch(context: Omit<RouteContext, 'params'>): { route: string; result: Promise<APIGatewayProxyResult> } {
  const { event } = context;
  const path = routePath(event);
  for (const { name, pattern, methods } of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (event.httpMethod === 'OPTIONS') {
      return { route: `OPTIONS ${name}`, result: Promise.resolve(preflightResponse(event, context.deps.config.allowedOrigins)) };
    }
    const handler = methods[event.httpMethod];
    if (!handler) {
      const allow = [...Object.keys(methods), 'OPTIONS'].join(', ');
      throw new GatewayError('method_not_allowed', `${name} accepts ${allow}`, { headers: { Allow: allow } });
    }
    const params = match.slice(1).map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
    return { route: `${event.httpMethod} ${name}`, result: handler({ ...context, params }) };
  }
  throw new GatewayError('not_found', 'no such endpoint');
}

/**
 * The gateway as a Lambda proxy handler. Routes throw `GatewayError`s for what the caller did
 * wrong; everything else becomes a 500 carrying only the request id, with the details logged.
 */
export function createGateway(deps: GatewayDependencies) {
  const now = deps.now ?? (() => new Date());

  return async function gateway(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
    const started = performance.now();
    const requestId = event.requestContext?.requestId || context?.awsRequestId || randomUUID();
    const logKeys: Record<string, string | number> = {};
    let route = 'unmatched';
    let result: APIGatewayProxyResult;
    try {
      const dispatched = dispatch({
        event,
        deps,
        requestId,
        now: now(),
        annotate: (keys) => Object.assign(logKeys, keys),
      });
      route = dispatched.route;
      result = await dispatched.result;
    } catch (thrown) {
      const error = toGatewayError(thrown);
      if (error.status >= 500) {
        deps.logger.error('request failed', { request_id: requestId, route, code: error.code, error: (error.cause ?? error) as Error });
      }
      result = errorResponse(error, requestId);
    } finally {
      deps.metrics.flush();
    }
    result.headers = { ...result.headers, ...corsHeaders(event, deps.config.allowedOrigins), 'X-Request-Id': requestId };
    deps.logger.info('request', {
      request_id: requestId,
      route,
      status: result.statusCode,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      ...logKeys,
    });
    return result;
  };
}

export type Gateway = ReturnType<typeof createGateway>;
