import sharp from 'sharp';
import { join } from 'node:path';
import { closeIdleSockets, httpCall } from '../gateway/support/http';
import { openApiResponseValidator } from '../gateway/support/openapi-validator';
import { startLocalStack, type LocalStack } from '../site/helpers/local-stack';
import { ORACLE_DIR, TINY_SD } from '../support/oracle';

/**
 * Live previews through `npm start` with a tiny VAE: `/v1/status` says the tiny decoder runs, and a
 * running job's progress carries a small preview that the API's own schema accepts.
 */
describe('npm start with a tiny VAE: decoder and previews', () => {
  let stack: LocalStack;
  let api: string;

  beforeAll(async () => {
    stack = await startLocalStack({ MODEL_DIR: TINY_SD, TINY_VAE_DIR: join(ORACLE_DIR, 'models', 'tiny-taesd'), QUOTA_PER_IP_PER_DAY: '10', QUOTA_GLOBAL_PER_DAY: '100' });
    api = stack.url.replace(/\/$/, '');
  }, 120_000);

  afterAll(async () => {
    closeIdleSockets();
    await stack?.stop();
  });

  it('reports the tiny decoder and carries a preview in the progress of a running job', async () => {
    const validate = openApiResponseValidator((await httpCall(`${api}/v1/openapi.json`)).json());
    const status = (await httpCall(`${api}/v1/status`)).json();
    expect(status.model).toMatchObject({ decoder: 'tiny' });

    const job = (await httpCall(`${api}/v1/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: 'a slow one', width: 256, height: 256, steps: 40, seed: 2 }) })).json();
    let seen: { status: string; progress?: { step: number; steps: number; preview?: string } } | undefined;
    for (let i = 0; i < 600; i++) {
      seen = (await httpCall(`${api}/v1/images/${job.id}`)).json();
      if (seen!.status !== 'queued' && seen!.status !== 'running') break;
      if (seen!.progress?.preview !== undefined) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(seen).toMatchObject({ status: 'running', progress: { preview: expect.stringMatching(/^data:image\/webp;base64,/) } });
    expect(validate('GET', '/v1/images/{id}', 200, seen)).toEqual([]);
    const metadata = await sharp(Buffer.from(seen!.progress!.preview!.split(',')[1], 'base64')).metadata();
    expect(Math.max(metadata.width!, metadata.height!)).toBeLessThanOrEqual(128);
    await httpCall(`${api}/v1/images/${job.id}`, { method: 'DELETE' });
  }, 120_000);
});
