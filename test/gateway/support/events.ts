import type { APIGatewayProxyEvent } from 'aws-lambda';
import { anonymousIdentity } from '../../../local/proxy-event';

export interface EventOptions {
  readonly method: string;
  readonly path: string;
  readonly body?: string | null;
  readonly headers?: Record<string, string>;
  readonly ip?: string;
  readonly isBase64Encoded?: boolean;
  /** `proxy`: one `/{proxy+}` resource (local mode); `explicit`: a resource per route, like a CDK RestApi tree. */
  readonly layout?: 'proxy' | 'explicit';
}

let counter = 0;

/** An API Gateway REST proxy event as API Gateway builds it. */
export function apiEvent(options: EventOptions): APIGatewayProxyEvent {
  const layout = options.layout ?? 'proxy';
  let resource = '/{proxy+}';
  let pathParameters: Record<string, string> | null = { proxy: options.path.replace(/^\//, '') };
  if (layout === 'explicit') {
    const match = /^\/v1\/images\/([^/]+)$/.exec(options.path);
    resource = match ? '/v1/images/{id}' : options.path;
    pathParameters = match ? { id: match[1] } : null;
  }
  counter += 1;
  return {
    httpMethod: options.method,
    path: options.path,
    resource,
    pathParameters,
    headers: options.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: options.method,
      identity: anonymousIdentity(options.ip ?? '203.0.113.7', 'jest'),
      path: `/prod${options.path}`,
      stage: 'prod',
      requestId: `req-${counter}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'res',
      resourcePath: resource,
    },
  };
}

export function postImages(body: unknown, headers: Record<string, string> = {}, ip?: string): APIGatewayProxyEvent {
  return apiEvent({
    method: 'POST',
    path: '/v1/images',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
    ip,
  });
}
