import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ROUTES, type RouteName } from '../../contract/routes';
import type { GatewayDependencies } from './dependencies';
import { corsHeaders, preflightResponse } from './http/cors';
import { GatewayError, toGatewayError } from './http/errors';
import { clientIp, routePath } from './http/request';
import { errorResponse } from './http/responses';
import { cancelImage } from './routes/cancel-image';
import { createImage } from './routes/create-image';
import { getImage } from './routes/get-image';
import { getOpenApi } from './routes/get-openapi';
import { getStatus } from './routes/get-status';
import { warmUp } from './routes/warm-up';
import type { RouteContext, RouteHandler } from './routes/route-context';

/** The handler of each route the contract lists; a route without one fails to compile. */
const HANDLERS: Readonly<Record<RouteName, RouteHandler>> = { createImage, getImage, cancelImage, getStatus, warmUp, getOpenApi };

interface CompiledPath {
  readonly template: string;
  /** `{name}` segments capture one path segment; a trailing slash is tolerated. */
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

function compile(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}\\/?$`);
}

const PATHS: readonly CompiledPath[] = (() => {
  const byTemplate = new Map<string, Record<string, RouteHandler>>();
  for (const route of ROUTES) {
    const methods = byTemplate.get(route.path) ?? {};
    methods[route.method] = HANDLERS[route.name];
    byTemplate.set(route.path, methods);
  }
  return [...byTemplate].map(([template, methods]) => ({ template, pattern: compile(template), methods }));
})();

function dispatch(context: Omit<RouteContext, 'params'>): { route: string; run: () => Promise<APIGatewayProxyResult> } {
  const { event } = context;
  const path = routePath(event);
  for (const { template: name, pattern, methods } of PATHS) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (event.httpMethod === 'OPTIONS') {
      return { route: `OPTIONS ${name}`, run: async () => preflightResponse(event, context.deps.config.allowedOrigins) };
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
    return { route: `${event.httpMethod} ${name}`, run: () => handler({ ...context, params }) };
  }
  throw new GatewayError('not_found', 'no such endpoint');
}

/**
 * The gateway as a Lambda proxy handler. Routes throw `GatewayError`s for what the caller did
 * wrong; everything else becomes a 500 carrying only the request id, with the details logged.
 */
export function createGateway(deps: GatewayDependencies) {
  const { now } = deps;

  return async function gateway(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
    const started = performance.now();
    const requestId = event.requestContext?.requestId || context?.awsRequestId || randomUUID();
    const logKeys: Record<string, string | number> = {};
    let route = 'unmatched';
    let result: APIGatewayProxyResult;
    try {
      const receivedAt = now();
      const dispatched = dispatch({
        event,
        deps,
        requestId,
        now: receivedAt,
        annotate: (keys) => Object.assign(logKeys, keys),
      });
      route = dispatched.route;
      // Without WAF in front, the gateway counts each address's requests before any route works.
      await deps.rateLimit?.admit(clientIp(event), 'any', receivedAt);
      result = await dispatched.run();
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
