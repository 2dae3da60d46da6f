import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { GatewayDependencies } from '../dependencies';

/** What a route gets: the request, the dependencies, and the captures of its path template. */
export interface RouteContext {
  readonly event: APIGatewayProxyEvent;
  readonly deps: GatewayDependencies;
  readonly requestId: string;
  readonly now: Date;
  readonly params: readonly string[];
  /** Adds keys to this request's log line (never the prompt). */
  readonly annotate: (keys: Record<string, string | number>) => void;
}

export type RouteHandler = (context: RouteContext) => Promise<APIGatewayProxyResult>;
