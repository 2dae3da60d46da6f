import type { APIGatewayProxyEvent } from 'aws-lambda';

/** Header lookup that ignores case: API Gateway passes headers as the client spelled them. */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) return headers[key] ?? undefined;
  }
  return undefined;
}

export function bodyBytes(event: APIGatewayProxyEvent): Buffer {
  if (event.body === null || event.body === undefined) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/**
 * The caller's address as API Gateway saw the TCP connection. `X-Forwarded-For` is ignored on
 * purpose: a client can write anything there and would get a fresh quota per request.
 */
export function clientIp(event: APIGatewayProxyEvent): string {
  return event.requestContext?.identity?.sourceIp || 'unknown';
}

/**
 * The request path relative to the API, whatever the resource layout (explicit resources or one
 * `{proxy+}`), stage name or custom-domain base path.
 */
export function routePath(event: APIGatewayProxyEvent): string {
  const resource = event.resource;
  if (!resource) return event.path ?? '/';
  const params = event.pathParameters ?? {};
  return resource.replace(/\{([^}]+?)\+?\}/g, (_, name: string) => params[name] ?? '');
}

export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mediaType = value.split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
}
