import { closeIdleSockets, httpCall } from '../gateway/support/http';
import { openApiResponseValidator } from '../gateway/support/openapi-validator';
import { startLocalStack, type LocalStack } from '../site/helpers/local-stack';

/**
 * Progress and cancel through `npm start`: the engine's own step count reaches the API while a job
 * runs, a queued job that is canceled never runs and gives its image back to the quota, and a
 * running one stops.
 */
describe('npm start: progress and cancel', () => {
  let stack: LocalStack;
  let api: string;

  beforeAll(async () => {
    // Three images a day for this visitor: a refund is visible as a request that then fits.
    stack = await startLocalStack({ QUOTA_PER_IP_PER_DAY: '3', QUOTA_GLOBAL_PER_DAY: '100' });
    api = stack.url.replace(/\/$/, '');
  }, 120_000);

  afterAll(async () => {
    closeIdleSockets();
    await stack?.stop();
  });

  const submit = (request: object) =>
    httpCall(`${api}/v1/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
  const get = async (id: string) => (await httpCall(`${api}/v1/images/${id}`)).json();
  const cancel = (id: string) => httpCall(`${api}/v1/images/${id}`, { method: 'DELETE' });
  const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    for (let i = 0; i < 600; i++) {
      const value = await read();
      if (done(value)) return value;
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${what}\n${stack.output()}`);
  }

  it('reports progress while running, drops and refunds a queued job, stops a running one', async () => {
    const validate = openApiResponseValidator((await httpCall(`${api}/v1/openapi.json`)).json());
    // Long enough on the tiny model to be seen running: many steps at a large latent.
    const slow = { prompt: 'a slow one', width: 384, height: 384, steps: 50, seed: 1 };
    const running = (await submit(slow)).json();
    const queued = (await submit({ prompt: 'waits behind it', width: 64, height: 64, steps: 2 })).json();

    const first = await until(() => get(running.id), (job) => job.status === 'running' && job.progress !== undefined, 'progress');
    expect(validate('GET', '/v1/images/{id}', 200, first)).toEqual([]);
    expect(first.progress.steps).toBeGreaterThanOrEqual(50);
    expect(first.progress.step).toBeGreaterThanOrEqual(1);
    expect(first.progress.fraction).toBeCloseTo(first.progress.step / first.progress.steps, 6);
    const later = await until(() => get(running.id), (job) => job.status !== 'running' || job.progress.step > first.progress.step, 'more steps');
    expect(later.status).toBe('running');

    // The second job is still waiting: canceling it drops it and gives its image back.
    const dropped = await cancel(queued.id);
    expect(dropped.status).toBe(200);
    expect(validate('DELETE', '/v1/images/{id}', 200, dropped.json())).toEqual([]);
    expect(dropped.json()).toMatchObject({ id: queued.id, status: 'canceled' });
    // 3 a day: 1 running + 2 now fits only because the canceled one was refunded.
    const fits = await submit({ prompt: 'fits after the refund', width: 64, height: 64, steps: 2, num_images: 2 });
    expect(fits.status).toBe(202);

    const stopped = await cancel(running.id);
    expect(stopped.status).toBe(200);
    expect(stopped.json()).toMatchObject({ status: 'canceled' });
    expect(stopped.json().progress).toBeUndefined();
    // Twice is harmless.
    expect((await cancel(running.id)).json()).toEqual(stopped.json());

    // The engine moves on to the next job; the canceled ones stay canceled.
    const finished = await until(() => get(fits.json().id), (job) => job.status === 'succeeded' || job.status === 'failed', 'the next job');
    expect(finished.status).toBe('succeeded');
    expect((await get(running.id)).status).toBe('canceled');
    expect((await get(queued.id)).status).toBe('canceled');

    const late = await cancel(fits.json().id);
    expect(late.status).toBe(409);
    expect(late.json().error.code).toBe('job_finished');
    expect(validate('DELETE', '/v1/images/{id}', 409, late.json())).toEqual([]);
    // Over the limit: the running job was not refunded (it had started), the dropped one was.
    expect((await submit({ prompt: 'one too many', width: 64, height: 64 })).status).toBe(429);
  }, 120_000);
});
