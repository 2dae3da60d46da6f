import type { BackendCapacity } from '../../lambda/src/backends/backend';
import type { JobRecord } from '../../lambda/src/jobs/job';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { applyRetention } from '../../lambda/src/jobs/retention';
import { estimateWaitSeconds, toPublicStatus } from '../../lambda/src/status/public-status';
import { StatusCache } from '../../lambda/src/status/status-cache';

const model = { coldStartSeconds: 300, secondsPerImage: 10 };
const status = (state: BackendCapacity['state'], current: number, queueDepth: number, warmingForSeconds?: number): BackendCapacity => ({
  state,
  instances: { current, desired: Math.max(1, current) },
  queueDepth,
  ...(warmingForSeconds !== undefined ? { warmingForSeconds } : {}),
});

describe('wait estimate', () => {
  it.each([
    ['cold, empty queue: boot + one image', status('cold', 0, 0), 310],
    ['cold, 4 waiting: boot + five images', status('cold', 0, 4), 350],
    ['warming for 120 s of 300', status('warming', 0, 1, 120), 180 + 20],
    ['warming longer than the boot estimate', status('warming', 0, 0, 900), 10],
    ['warm, one instance, 3 waiting', status('warm', 1, 3), 40],
    ['warm, two instances share the queue', status('warm', 2, 3), 20],
  ])('%s', (_case, input, expected) => {
    expect(estimateWaitSeconds(input, model)).toBe(expected);
  });

  it('tells people the state in words', () => {
    expect(toPublicStatus(status('cold', 0, 0), model).message).toMatch(/switched off .* about 5 minutes/);
    expect(toPublicStatus(status('warming', 0, 0, 0), model).message).toMatch(/starting up/);
    expect(toPublicStatus(status('warm', 1, 2), model).message).toMatch(/2 requests are ahead of yours/);
    expect(toPublicStatus(status('warm', 1, 0), model).message).toMatch(/ready/);
  });
});

describe('StatusCache', () => {
  it('serves a fresh answer, refreshes after it ages, and serves a stale one while the source fails', async () => {
    let now = 0;
    let calls = 0;
    let failing = false;
    const cache = new StatusCache(
      async () => {
        calls += 1;
        if (failing) throw new Error('throttled');
        return status('warm', 1, calls);
      },
      { freshMs: 5000, staleMs: 60000, now: () => new Date(now) },
    );
    expect((await cache.get()).queueDepth).toBe(1);
    now = 4000;
    expect((await cache.get()).queueDepth).toBe(1);
    now = 6000;
    expect((await cache.get()).queueDepth).toBe(2);
    failing = true;
    now = 20000;
    expect((await cache.get()).queueDepth).toBe(2);
    now = 70000;
    await expect(cache.get()).rejects.toThrow('throttled');
  });
});

describe('retention', () => {
  const created = new Date('2026-03-14T12:00:00Z');
  const at = (seconds: number) => new Date(created.getTime() + seconds * 1000);
  const base: JobRecord = { id: 'j', ref: 'r', status: 'succeeded', created_at: created.toISOString(), parameters: { prompt: 'p' }, images: [{ key: 'r/0.png', width: 8, height: 8, seed: 1, format: 'png' }] };

  it('keeps results for the retention period, then reports expired without images', () => {
    expect(applyRetention(base, at(JOB_RETENTION.resultsSeconds))).toBe(base);
    expect(applyRetention(base, at(JOB_RETENTION.resultsSeconds + 1))).toEqual({ ...base, status: 'expired', images: undefined });
  });

  it('expires a job that never ran within SageMaker’s request TTL; failed jobs keep their error', () => {
    expect(applyRetention({ ...base, status: 'queued', images: undefined }, at(JOB_RETENTION.pendingSeconds + 1)).status).toBe('expired');
    const failed: JobRecord = { ...base, status: 'failed', images: undefined, error: { code: 'x', message: 'y' } };
    expect(applyRetention(failed, at(JOB_RETENTION.recordSeconds))).toBe(failed);
  });
});
