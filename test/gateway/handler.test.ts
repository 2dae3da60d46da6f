import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { BASE_ENV } from './support/aws-fakes';
import { apiEvent, postImages } from './support/events';

/** Loads `lambda/src/handler.ts` afresh with the given environment, as a cold start would. */
function coldStart(env: Record<string, string | undefined>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  try {
    let loaded: { handler: (event: unknown, context?: Context) => Promise<APIGatewayProxyResult> } | undefined;
    jest.isolateModules(() => {
      // The SDK classes are loaded afresh with the handler, so the AWS fakes must be too.
      (require('./support/aws-fakes') as typeof import('./support/aws-fakes')).resetAws();
      loaded = require('../../lambda/src/handler');
    });
    return loaded!.handler;
  } finally {
    process.env = saved;
  }
}

describe('lambda/src/handler.ts', () => {
  it('fails the cold start naming a missing variable', () => {
    expect(() => coldStart({ ...BASE_ENV, QUOTAS_AND_JOBS_TABLE: undefined })).toThrow('environment variable QUOTAS_AND_JOBS_TABLE is required');
    expect(() => coldStart({ ...BASE_ENV, ENDPOINT_NAME: undefined })).toThrow('environment variable ENDPOINT_NAME is required');
  });

  it('serves the API from the Lambda contract environment', async () => {
    const handler = coldStart(BASE_ENV as Record<string, string>);
    const context = { awsRequestId: 'lambda-request-1' } as Context;
    const accepted = await handler(postImages({ prompt: 'hello' }), context);
    expect(accepted.statusCode).toBe(202);
    const openapi = await handler(apiEvent({ method: 'GET', path: '/v1/openapi.json' }), context);
    expect(JSON.parse(openapi.body).openapi).toBe('3.1.0');
  });
});
