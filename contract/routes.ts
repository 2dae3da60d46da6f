/**
 * The public API's routes: the gateway compiles them into its dispatcher, the CDK REST API creates
 * one resource and method per entry, and the OpenAPI document is keyed by them.
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI-style template, e.g. `/v1/images/{id}`. */
  readonly path: string;
  /** The operation's name: the gateway's handler and the OpenAPI `operationId`. */
  readonly name: string;
}

export const ROUTES = [
  { method: 'POST', path: '/v1/images', name: 'createImage' },
  { method: 'GET', path: '/v1/images/{id}', name: 'getImage' },
  { method: 'DELETE', path: '/v1/images/{id}', name: 'cancelImage' },
  { method: 'GET', path: '/v1/status', name: 'getStatus' },
  { method: 'POST', path: '/v1/warmups', name: 'warmUp' },
  { method: 'GET', path: '/v1/openapi.json', name: 'getOpenApi' },
] as const satisfies readonly Route[];

export type RouteName = (typeof ROUTES)[number]['name'];

/** The distinct path templates, in the order first listed. */
export const ROUTE_PATHS: readonly string[] = [...new Set(ROUTES.map((route) => route.path))];
