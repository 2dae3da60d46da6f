import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeIdleSockets, httpCall } from '../gateway/support/http';
import { startLocalStack, type LocalStack } from '../site/helpers/local-stack';

/**
 * `npm start` killed (SIGKILL, as a crash or a closed terminal) while one job runs and another
 * waits, then started again on the same data folder: both jobs are still known, and on the first
 * poll they end `failed` saying the server restarted; a finished job keeps its image.
 */
describe('npm start restarted', () => {
  let dataDir: string;
  let stack: LocalStack | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-restart-'));
  });
  afterAll(async () => {
    closeIdleSockets();
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
  const submit = (api: string, request: object) =>
    httpCall(`${api}/v1/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) }).then((r) => r.json());
  const get = async (api: string, id: string) => (await httpCall(`${api}/v1/images/${id}`)).json();

  it('leaves no job running or queued forever', async () => {
    stack = await startLocalStack({}, dataDir);
    let api = stack.url.replace(/\/$/, '');
    const finished = await submit(api, { prompt: 'done before the crash', width: 64, height: 64, steps: 2, seed: 1 });
    for (let i = 0; i < 400 && (await get(api, finished.id)).status !== 'succeeded'; i++) await sleep(50);
    const running = await submit(api, { prompt: 'running at the crash', width: 384, height: 384, steps: 50, seed: 2 });
    const queued = await submit(api, { prompt: 'waiting at the crash', width: 64, height: 64, steps: 2, seed: 3 });
    for (let i = 0; i < 400 && (await get(api, running.id)).status !== 'running'; i++) await sleep(50);
    expect(await get(api, running.id)).toMatchObject({ status: 'running' });
    closeIdleSockets();
    await stack.kill();

    stack = await startLocalStack({}, dataDir);
    api = stack.url.replace(/\/$/, '');
    for (const job of [running, queued]) {
      expect(await get(api, job.id)).toMatchObject({
        id: job.id,
        status: 'failed',
        error: { code: 'interrupted', message: 'the local server restarted before this image was made; please generate it again' },
      });
    }
    const kept = await get(api, finished.id);
    expect(kept).toMatchObject({ status: 'succeeded', images: [{ width: 64 }] });
    expect((await httpCall(kept.images[0].url)).status).toBe(200);
  }, 240_000);
});
