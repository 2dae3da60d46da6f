import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { BackendState } from '../../contract/status';
import { openApiDocument } from '../../contract/openapi';
import { GatewayError } from '../../lambda/src/http/errors';
import { DynamoDbGpuLedger } from '../../lambda/src/spend/dynamodb-gpu-ledger';
import { MemoryGpuLedger, type GpuLedgerEntry, type GpuLedgerStore } from '../../lambda/src/spend/gpu-ledger';
import { GpuTimeGuard, type GpuTimeGuardOptions } from '../../lambda/src/spend/gpu-time-guard';
import { awsGateway, mocks, resetAws, table } from './support/aws-fakes';
import { postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

/** A wake-up: 300 s boot + 8 s for the image + 420 s idle period and scale-in lag = 728 s. */
const OPTIONS: GpuTimeGuardOptions = { minutesPerDay: 30, coldStartSeconds: 300, secondsPerImage: 8, idleSeconds: 420 };
const WAKE_UP = 300 + 8 + 420;
const noon = new Date('2026-03-14T12:00:00Z');
const T = noon.getTime() / 1000;
const at = (seconds: number) => new Date(noon.getTime() + seconds * 1000);

function guardWith(ledger: GpuLedgerStore, state: () => BackendState, options: Partial<GpuTimeGuardOptions> = {}) {
  return new GpuTimeGuard(ledger, { ...OPTIONS, ...options }, async () => state());
}

/** Seeds a day of the ledger, as if earlier jobs had been charged. */
async function seeded(entry: Omit<GpuLedgerEntry, 'version'>): Promise<MemoryGpuLedger> {
  const ledger = new MemoryGpuLedger();
  await ledger.write('2026-03-14', { ...entry, version: 1 }, undefined, 0);
  return ledger;
}

describe('GpuTimeGuard', () => {
  it('charges a job that wakes the GPU its boot, its work and the idle period after it', async () => {
    const guard = guardWith(new MemoryGpuLedger(), () => 'cold');
    expect(await guard.admit(1, noon)).toEqual({ wakesGpu: true, chargedSeconds: WAKE_UP, gpuSeconds: WAKE_UP });
  });

  it('lets jobs that arrive while the wake-up is under way ride it, charged only their own work', async () => {
    // SageMaker still says `cold` until its scaling alarm fires, a minute or two after the first job.
    const guard = guardWith(new MemoryGpuLedger(), () => 'cold');
    await guard.admit(1, noon);
    expect(await guard.admit(2, at(90))).toEqual({ wakesGpu: false, chargedSeconds: 16, gpuSeconds: WAKE_UP + 16 });
  });

  it('charges a job for an awake GPU only the time it keeps the GPU up beyond what was already paid', async () => {
    let state: BackendState = 'cold';
    const guard = guardWith(new MemoryGpuLedger(), () => state);
    await guard.admit(1, noon); // busy until 308 s, awake until 728 s
    state = 'warm';
    // At 600 s the queue is empty and the idle period runs: the GPU now stays up until 608 + 420.
    expect(await guard.admit(1, at(600))).toMatchObject({ wakesGpu: false, chargedSeconds: 600 + 8 + 420 - WAKE_UP });
    // A burst queues behind: each job adds its 8 seconds.
    expect(await guard.admit(1, at(601))).toMatchObject({ chargedSeconds: 8 });
  });

  it('refuses a job that would wake the GPU once the budget is used, with 503 spend_guard until midnight', async () => {
    const ledger = await seeded({ gpuSeconds: 30 * 60, busyUntil: 0, awakeUntil: 0 });
    const refusal = await guardWith(ledger, () => 'cold').admit(1, noon).catch((error: GatewayError) => error);
    expect(refusal).toBeInstanceOf(GatewayError);
    expect(refusal).toMatchObject({ code: 'spend_guard', status: 503, retryAfterSeconds: 12 * 3600 });
    expect((refusal as GatewayError).message).toBe('the GPU time budget of this site for today is used up; try again after 00:00 UTC');
    // Nothing was charged for the refusal.
    expect((await ledger.read('2026-03-14'))?.gpuSeconds).toBe(30 * 60);
  });

  it('still runs jobs that arrive while the GPU is awake past the budget', async () => {
    const ledger = await seeded({ gpuSeconds: 40 * 60, busyUntil: 0, awakeUntil: 0 });
    for (const state of ['warm', 'warming'] as const) {
      await expect(guardWith(ledger, () => state).admit(1, noon)).resolves.toMatchObject({ wakesGpu: false });
    }
  });

  it('refuses while asleep until 00:00 UTC, then starts a fresh budget', async () => {
    const ledger = await seeded({ gpuSeconds: 30 * 60, busyUntil: 0, awakeUntil: 0 });
    const guard = guardWith(ledger, () => 'cold');
    await expect(guard.admit(1, new Date('2026-03-14T23:59:50Z'))).rejects.toMatchObject({ code: 'spend_guard', retryAfterSeconds: 10 });
    await expect(guard.admit(1, new Date('2026-03-15T00:00:01Z'))).resolves.toMatchObject({ wakesGpu: true });
  });

  it('counts a wake-up again when the GPU is asleep although the ledger expected it up', async () => {
    // The GPU went to zero earlier than the ledger's estimate; the new wake-up pays what the old
    // estimate had not already covered, so the day's total never falls below the real GPU time.
    const ledger = await seeded({ gpuSeconds: WAKE_UP, wokeAt: T - 1000, busyUntil: T - 692, awakeUntil: T + 60 });
    expect(await guardWith(ledger, () => 'cold').admit(1, noon)).toEqual({ wakesGpu: true, chargedSeconds: WAKE_UP - 60, gpuSeconds: 2 * WAKE_UP - 60 });
  });

  it('counts the GPU as asleep when its state cannot be read', async () => {
    const ledger = await seeded({ gpuSeconds: 30 * 60, busyUntil: 0, awakeUntil: 0 });
    const guard = new GpuTimeGuard(ledger, OPTIONS, async () => {
      throw new Error('DescribeEndpoint throttled');
    });
    await expect(guard.admit(1, noon)).rejects.toMatchObject({ code: 'spend_guard' });
  });

  describe('the race of two requests at the boundary', () => {
    /** A ledger whose reads all complete before any write, so the two requests read the same entry. */
    function interleaved(inner: MemoryGpuLedger, readers: number): GpuLedgerStore & { writes: number; conflicts: number } {
      let waiting: Array<() => void> = [];
      let firstRound = true;
      const store = {
        writes: 0,
        conflicts: 0,
        async read(day: string) {
          const entry = await inner.read(day);
          if (firstRound) {
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === readers) {
                firstRound = false;
                waiting.forEach((release) => release());
                waiting = [];
              }
            });
          }
          return entry;
        },
        async write(day: string, entry: GpuLedgerEntry, expected: number | undefined, expiresAt: number) {
          const written = await inner.write(day, entry, expected, expiresAt);
          if (written) store.writes += 1;
          else store.conflicts += 1;
          return written;
        },
      };
      return store;
    }

    it('with budget left for one wake-up: one wakes the GPU, the other rides along; both run', async () => {
      // 1,100 s of the 1,800 s budget used: room for one more wake-up, not two.
      const inner = await seeded({ gpuSeconds: 1100, busyUntil: 0, awakeUntil: 0 });
      const ledger = interleaved(inner, 2);
      const guard = guardWith(ledger, () => 'cold');
      const charges = await Promise.all([guard.admit(1, noon), guard.admit(1, noon)]);
      expect(charges.map((charge) => charge.wakesGpu).sort()).toEqual([false, true]);
      expect(ledger.conflicts).toBe(1);
      // One wake-up and the second job's 8 seconds; nothing lost, nothing counted twice.
      expect((await inner.read('2026-03-14'))?.gpuSeconds).toBe(1100 + WAKE_UP + 8);
      // A third, after the GPU is back at zero, is past the budget.
      await expect(guard.admit(1, at(2000))).rejects.toMatchObject({ code: 'spend_guard' });
    });

    it('with the budget used: both are refused and nothing is written', async () => {
      const inner = await seeded({ gpuSeconds: 1800, busyUntil: 0, awakeUntil: 0 });
      const ledger = interleaved(inner, 2);
      const guard = guardWith(ledger, () => 'cold');
      const results = await Promise.allSettled([guard.admit(1, noon), guard.admit(1, noon)]);
      expect(results.map((result) => result.status === 'rejected' && (result.reason as GatewayError).code)).toEqual(['spend_guard', 'spend_guard']);
      expect(ledger.writes).toBe(0);
    });

    it('twenty at once on an empty day: one wake-up, every job counted once', async () => {
      const inner = new MemoryGpuLedger();
      const guard = guardWith(interleaved(inner, 20), () => 'cold', { maxAttempts: 30 });
      const charges = await Promise.all(Array.from({ length: 20 }, () => guard.admit(1, noon)));
      expect(charges.filter((charge) => charge.wakesGpu)).toHaveLength(1);
      expect((await inner.read('2026-03-14'))?.gpuSeconds).toBe(WAKE_UP + 19 * 8);
    });
  });

  it('gives up with 503 backend_busy when other writers keep winning', async () => {
    const ledger: GpuLedgerStore = { read: async () => undefined, write: async () => false };
    await expect(guardWith(ledger, () => 'cold', { maxAttempts: 3 }).admit(1, noon)).rejects.toMatchObject({ code: 'backend_busy', retryAfterSeconds: 5 });
  });
});

describe('DynamoDbGpuLedger', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const ledger = new DynamoDbGpuLedger(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'gateway-table');
  beforeEach(() => dynamo.reset());

  it('reads the day with a strongly consistent read', async () => {
    dynamo.on(GetCommand).resolves({ Item: { pk: 'gpu#2026-03-14', gpu_seconds: 728, woke_at: 10, busy_until: 318, awake_until: 738, version: 3 } });
    expect(await ledger.read('2026-03-14')).toEqual({ gpuSeconds: 728, wokeAt: 10, busyUntil: 318, awakeUntil: 738, version: 3 });
    expect(dynamo.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: 'gateway-table', Key: { pk: 'gpu#2026-03-14' }, ConsistentRead: true });
  });

  it('writes only on the version it read, and only a new item when there was none', async () => {
    dynamo.on(PutCommand).resolves({});
    const entry = { gpuSeconds: 736, busyUntil: 326, awakeUntil: 746, version: 4 };
    expect(await ledger.write('2026-03-14', entry, 3, 1773619200)).toBe(true);
    expect(dynamo.commandCalls(PutCommand)[0].args[0].input).toEqual({
      TableName: 'gateway-table',
      Item: { pk: 'gpu#2026-03-14', gpu_seconds: 736, busy_until: 326, awake_until: 746, version: 4, expires_at: 1773619200 },
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 3 },
    });
    await ledger.write('2026-03-14', { ...entry, version: 1 }, undefined, 1773619200);
    expect(dynamo.commandCalls(PutCommand)[1].args[0].input).toMatchObject({
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
  });

  it('reports a lost race as false and lets throttling through', async () => {
    dynamo.on(PutCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    expect(await ledger.write('d', { gpuSeconds: 0, busyUntil: 0, awakeUntil: 0, version: 1 }, undefined, 0)).toBe(false);
    dynamo.on(PutCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(ledger.write('d', { gpuSeconds: 0, busyUntil: 0, awakeUntil: 0, version: 1 }, undefined, 0)).rejects.toThrow('Rate exceeded');
  });
});

describe('POST /v1/images with the wake-up guard', () => {
  const validate = openApiResponseValidator(openApiDocument());
  const GPU_ENV = { GPU_MINUTES_PER_DAY: '12', GPU_IDLE_SECONDS: '420', COLD_START_SECONDS: '300', SECONDS_PER_IMAGE: '8' };
  const endpoint = (current: number) =>
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: current, DesiredInstanceCount: current }],
    } as never);
  beforeEach(() => resetAws());

  it('refuses the second wake-up of a 12-minute day with 503 spend_guard, gives the images back and submits nothing', async () => {
    endpoint(0);
    let clock = noon;
    const { gateway } = awsGateway({ ...GPU_ENV, QUOTA_PER_IP_PER_DAY: '2' }, () => clock);
    expect((await gateway(postImages({ prompt: 'wakes the GPU' }))).statusCode).toBe(202);
    expect((table.get('gpu#2026-03-14') as { gpu_seconds: number }).gpu_seconds).toBe(WAKE_UP);
    // An hour later the GPU is asleep again, and the first wake-up used the day's 12 minutes.
    clock = at(3600);
    const refused = await gateway(postImages({ prompt: 'would wake it again' }));
    expect(refused.statusCode).toBe(503);
    expect(refused.headers!['Retry-After']).toBe(String(11 * 3600));
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'spend_guard', retry_after_seconds: 11 * 3600 });
    expect(validate('POST', '/v1/images', 503, JSON.parse(refused.body))).toEqual([]);
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(1);
    const perIp = [...table.entries()].filter(([key]) => key.startsWith('quota#ip#')).map(([, item]) => item.count);
    expect(perIp).toEqual([1]);
  });

  it('runs a job for an awake GPU although the day is past its budget', async () => {
    table.set('gpu#2026-03-14', { pk: 'gpu#2026-03-14', gpu_seconds: 3600, busy_until: 0, awake_until: 0, version: 7 });
    endpoint(1);
    const { gateway } = awsGateway(GPU_ENV, () => noon);
    expect((await gateway(postImages({ prompt: 'the GPU is up anyway' }))).statusCode).toBe(202);
    expect(table.get('gpu#2026-03-14')).toMatchObject({ gpu_seconds: 3600 + 8 + 420, version: 8 });
  });

  it('is off without GPU_MINUTES_PER_DAY (no GPU that sleeps): nothing is read or written', async () => {
    const { gateway } = awsGateway({}, () => noon);
    expect((await gateway(postImages({ prompt: 'x' }))).statusCode).toBe(202);
    expect(table.has('gpu#2026-03-14')).toBe(false);
  });
});
