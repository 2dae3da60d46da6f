import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { gatewayEsbuildOptions } from '../../lambda/bundling';
import { BASE_ENV } from './support/aws-fakes';
import { apiEvent, postImages } from './support/events';

/**
 * The bundle the infrastructure deploys is built from ES module builds of the SDK and zod; this
 * proves that bundle starts and answers, outside the TypeScript sources the other tests load.
 */
describe('the Lambda bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds with the shared bundling options, cold-starts and serves requests that need no AWS call', async () => {
    const result = await build(gatewayEsbuildOptions(resolve(__dirname, '..', '..')));
    const file = join(dir, 'index.js');
    writeFileSync(file, result.outputFiles[0].contents);
    const code = result.outputFiles[0].text;
    // The SDK is inside the bundle, not taken from the runtime (its only mention is an error message).
    expect(code).not.toMatch(/require\("@aws-sdk\/(client-|lib-)/);

    const saved = { ...process.env };
    Object.assign(process.env, BASE_ENV, { LOG_LEVEL: 'ERROR' });
    try {
      const { handler } = require(file) as { handler: (event: unknown) => Promise<{ statusCode: number; body: string }> };
      const openapi = await handler(apiEvent({ method: 'GET', path: '/v1/openapi.json' }));
      expect(openapi.statusCode).toBe(200);
      expect(JSON.parse(openapi.body).components.schemas.GenerationRequest.properties.prompt).toMatchObject({ type: 'string' });
      const invalid = await handler(postImages({ prompt: 'x', steps: 0 }));
      expect(invalid.statusCode).toBe(400);
      expect(JSON.parse(invalid.body).error).toMatchObject({ code: 'invalid_request', field: 'steps' });
    } finally {
      process.env = saved;
    }
  }, 60_000);
});
