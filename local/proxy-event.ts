import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { LIMITS } from '../contract/limits';

/**
 * API Gateway refuses payloads over 10 MB before the Lambda runs; locally the adapter stops
 * reading far earlier. Anything past the gateway's own limit is refused by the handler with 413
 * naming the field, so the adapter reads up to twice that limit and no more.
 */
export const MAX_ADAPTER_BODY_BYTES = 2 * LIMITS.maxBodyBytes;

export class BodyTooLargeError extends Error {}

/** Reads the body, refusing to buffer more than `limit` bytes. */
export function readBody(request: IncomingMessage, limit = MAX_ADAPTER_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        reject(new BodyTooLargeError(`body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function flatHeaders(request: IncomingMessage): { single: Record<string, string>; multi: Record<string, string[]> } {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i];
    const value = request.rawHeaders[i + 1];
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

/**
 * Builds the event API Gateway's REST proxy integration would send for this request, as if the
 * API had one `/{proxy+}` resource on stage `local`.
 */
export function toProxyEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://local');
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    (multiQuery[key] ??= []).push(value);
  }
  const headers = flatHeaders(request);
  const method = request.method ?? 'GET';
  const sourceIp = request.socket.remoteAddress ?? 'unknown';
  let path: string;
  try {
    path = decodeURI(url.pathname);
  } catch {
    path = url.pathname;
  }
  // Like API Gateway, pass text bodies as strings and anything that is not UTF-8 as base64.
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  return {
    httpMethod: method,
    path,
    resource: '/{proxy+}',
    pathParameters: { proxy: path.replace(/^\//, '') },
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: url.searchParams.size > 0 ? query : null,
    multiValueQueryStringParameters: url.searchParams.size > 0 ? multiQuery : null,
    stageVariables: null,
    body: body.length > 0 ? (isText ? text : body.toString('base64')) : null,
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: method,
      identity: anonymousIdentity(sourceIp, request.headers['user-agent'] ?? null),
      path: `/local${path}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
  };
}

/** Writes a proxy result the way API Gateway would. */
export function sendProxyResult(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
  headers['Content-Length'] = String(body.length);
  response.writeHead(result.statusCode, headers);
  response.end(body);
}

/** The caller identity API Gateway reports for an unauthenticated public request. */
export function anonymousIdentity(sourceIp: string, userAgent: string | null): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}
