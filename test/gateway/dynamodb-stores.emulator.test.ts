import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { TABLE_KEYS } from '../../lambda/facts/table-keys';
import { GatewayError } from '../../lambda/src/http/errors';
import { DynamoDbJobStore } from '../../lambda/src/jobs/dynamodb-job-store';
import type { JobRecord } from '../../lambda/src/jobs/job';
import { DynamoDbCounterStore } from '../../lambda/src/quota/dynamodb-counter-store';
import { QuotaGuard } from '../../lambda/src/quota/quota-guard';
import { RateLimiter } from '../../lambda/src/quota/rate-limiter';
import { DynamoDbGpuLedger } from '../../lambda/src/spend/dynamodb-gpu-ledger';
import { GpuTimeGuard } from '../../lambda/src/spend/gpu-time-guard';
import { startEmulatedTable, type EmulatedTable } from '../support/emulators/dynamodb';

/**
 * The gateway's DynamoDB stores with their real expressions against DynamoDB's API (dynalite),
 * where aws-sdk-client-mock would accept any expression: an unaliased reserved word, a condition
 * DynamoDB rejects or a TTL of the wrong type fail here.
 */
let table: EmulatedTable;
let counter = 0;
/** Each test its own day, so counters never carry over between tests. */
const freshNoon = () => new Date(Date.UTC(2031, 0, 1 + counter++, 12));

beforeAll(async () => {
  table = await startEmulatedTable();
});
afterAll(async () => {
  await table.stop();
});

const counters = () => new DynamoDbCounterStore(table.documentClient, table.tableName);
const rawItem = async (pk: string) =>
  (await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { [TABLE_KEYS.partitionKey]: { S: pk } }, ConsistentRead: true }))).Item;

describe('daily quotas on DynamoDB', () => {
  it('grants exactly the quota to 50 concurrent reservations at its edge', async () => {
    const now = freshNoon();
    const guard = new QuotaGuard(counters(), { perIpPerDay: 1000, globalPerDay: 20 });
    // 5 images already taken: 15 left for 50 clients asking one each at once.
    await guard.reserve('earlier', 5, now);
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => guard.reserve(`client-${i}`, 1, now)));
    const granted = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as GatewayError] : []));
    expect(granted).toHaveLength(15);
    expect(refused).toHaveLength(35);
    for (const error of refused) expect(error).toMatchObject({ code: 'spend_guard', status: 503 });

    const day = now.toISOString().slice(0, 10);
    const global = await rawItem(TABLE_KEYS.quota('global', day));
    expect(global?.count).toEqual({ N: '20' });
    // TTL as DynamoDB needs it: a Number of epoch seconds, a day past the next midnight.
    expect(global?.[TABLE_KEYS.ttlAttribute]).toEqual({ N: String(Date.parse(`${day}T00:00:00Z`) / 1000 + 2 * 86400) });
    // The refused clients' own counters were given back.
    expect((await rawItem(TABLE_KEYS.quota('ip#client-49', day)))?.count ?? { N: '0' }).toEqual({ N: expect.stringMatching(/^[01]$/) });
  });

  it('refuses one client past its own daily limit with 429 quota_exceeded, leaving the global counter alone', async () => {
    const now = freshNoon();
    const guard = new QuotaGuard(counters(), { perIpPerDay: 3, globalPerDay: 100 });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => guard.reserve('one-client', 1, now)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: { code: 'quota_exceeded', status: 429 } });
    expect((await rawItem(TABLE_KEYS.quota('global', now.toISOString().slice(0, 10))))?.count).toEqual({ N: '3' });
  });
});

function queuedJob(index: number, now: Date, quota: JobRecord['quota']): JobRecord {
  return {
    id: `id-${index}-${now.getTime()}`,
    ref: `ref-${index}-${now.getTime()}`,
    status: 'queued',
    created_at: now.toISOString(),
    parameters: { prompt: `a red fox in the snow, the "status" and "count" words reserved ${index}`, num_images: 1 },
    ...(quota ? { quota } : {}),
  };
}

describe('jobs on DynamoDB', () => {
  it('round-trips a job record, its id kept out of storage and its TTL a Number past retention', async () => {
    const now = freshNoon();
    const jobs = new DynamoDbJobStore(table.documentClient, table.tableName);
    const job = queuedJob(0, now, { client: 'c', day: '2031-01-01', images: 1 });
    await jobs.create(job);
    expect(await jobs.get({ id: job.id, ref: job.ref })).toEqual(job);
    const item = await rawItem(TABLE_KEYS.job(job.ref));
    expect(item?.[TABLE_KEYS.ttlAttribute]).toEqual({ N: String(now.getTime() / 1000 + JOB_RETENTION.recordSeconds) });
    expect(JSON.stringify(item)).not.toContain(job.id);
    // A second create of the same reference is refused, never overwriting the first.
    await expect(jobs.create({ ...job, status: 'running' })).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(await jobs.get({ id: job.id, ref: 'no-such-ref' })).toBeUndefined();
  });

  it('lets exactly one of a cancel and a completion win, ×20, and counts each job once in the quota', async () => {
    const now = freshNoon();
    const day = now.toISOString().slice(0, 10);
    const jobs = new DynamoDbJobStore(table.documentClient, table.tableName);
    const quota = new QuotaGuard(counters(), { perIpPerDay: 100, globalPerDay: 100 });
    const winners: string[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const { ticket } = await quota.reserve('racer', 1, now);
        const job = queuedJob(index, now, ticket);
        await jobs.create(job);
        // As cancel-image.ts does it: only the cancel whose transition wins refunds, once.
        const cancel = async () => {
          if (!(await jobs.transition('queued', { ...job, status: 'canceled', completed_at: now.toISOString() }))) return undefined;
          await quota.refund(ticket);
          return 'canceled';
        };
        const complete = async () =>
          (await jobs.transition('queued', { ...job, status: 'succeeded', completed_at: now.toISOString(), images: [] })) ? 'succeeded' : undefined;
        const outcomes = (await Promise.all(index % 2 ? [cancel(), complete()] : [complete(), cancel()])).filter(Boolean);
        expect(outcomes).toHaveLength(1);
        expect((await jobs.get(job))?.status).toBe(outcomes[0]);
        winners.push(outcomes[0]!);
      }),
    );
    const succeeded = winners.filter((status) => status === 'succeeded').length;
    expect((await rawItem(TABLE_KEYS.quota('global', day)))?.count).toEqual({ N: String(succeeded) });
    expect((await rawItem(TABLE_KEYS.quota('ip#racer', day)))?.count).toEqual({ N: String(succeeded) });
  });
});

describe('the GPU-time ledger on DynamoDB', () => {
  it('charges one wake-up when 10 requests race at the boundary, and all of them run', async () => {
    const now = freshNoon();
    const ledger = new DynamoDbGpuLedger(table.documentClient, table.tableName);
    const guard = new GpuTimeGuard(ledger, { minutesPerDay: 30, coldStartSeconds: 300, secondsPerImage: 8, idleSeconds: 420, maxAttempts: 20 }, async () => 'cold');
    const charges = await Promise.all(Array.from({ length: 10 }, () => guard.admit(1, now)));
    expect(charges.filter((charge) => charge.wakesGpu)).toHaveLength(1);
    const entry = await ledger.read(now.toISOString().slice(0, 10));
    // One wake-up (300 s boot + 420 s idle) plus 8 s for each of the ten images.
    expect(entry?.gpuSeconds).toBe(300 + 420 + 10 * 8);
    expect(entry?.version).toBe(10);
  });

  it('refuses a wake-up past the budget with spend_guard', async () => {
    const now = freshNoon();
    const ledger = new DynamoDbGpuLedger(table.documentClient, table.tableName);
    const day = now.toISOString().slice(0, 10);
    expect(await ledger.write(day, { gpuSeconds: 1800, busyUntil: 0, awakeUntil: 0, version: 1 }, undefined, 0)).toBe(true);
    // A stale writer loses to the version check.
    expect(await ledger.write(day, { gpuSeconds: 0, busyUntil: 0, awakeUntil: 0, version: 1 }, undefined, 0)).toBe(false);
    const guard = new GpuTimeGuard(ledger, { minutesPerDay: 30, coldStartSeconds: 300, secondsPerImage: 8, idleSeconds: 420 }, async () => 'cold');
    await expect(guard.admit(1, now)).rejects.toMatchObject({ code: 'spend_guard' });
  });
});

describe('the rate limiter on DynamoDB', () => {
  it('admits the limit per window, concurrently, and opens a new window on time', async () => {
    const start = freshNoon();
    const limiter = new RateLimiter(counters(), { perIp: 5, createImagePerIp: 2, windowSeconds: 60 }, async (ip) => `hash-${ip}`);
    const burst = await Promise.allSettled(Array.from({ length: 12 }, () => limiter.admit('192.0.2.7', 'any', start)));
    expect(burst.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    expect(burst.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: { code: 'rate_limited', retryAfterSeconds: 60 } });
    // The tighter image limit is its own counter.
    const images = await Promise.allSettled(Array.from({ length: 4 }, () => limiter.admit('192.0.2.7', 'createImage', start)));
    expect(images.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    // Another address is not affected; the next window starts afresh.
    await expect(limiter.admit('192.0.2.8', 'any', start)).resolves.toBeUndefined();
    await expect(limiter.admit('192.0.2.7', 'any', new Date(start.getTime() + 59_000))).rejects.toMatchObject({ retryAfterSeconds: 1 });
    await expect(limiter.admit('192.0.2.7', 'any', new Date(start.getTime() + 60_000))).resolves.toBeUndefined();
    const item = await rawItem(TABLE_KEYS.rate('any', 'hash-192.0.2.7', start.getTime() / 1000));
    expect(item).toMatchObject({ count: { N: '5' }, [TABLE_KEYS.ttlAttribute]: { N: String(start.getTime() / 1000 + 120) } });
  });
});
