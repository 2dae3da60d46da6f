import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiText } from '../../../contract/openapi';

/** `GET /v1/openapi.json`: the API's description, the same for every caller. */
export async function getOpenApi(): Promise<APIGatewayProxyResult> {
  return {
    statusCode: 200,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    },
    body: openApiText(),
  };
}
