import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { MemoryCounterStore, type CounterStore } from '../../lambda/src/quota/counter-store';
import { DynamoDbCounterStore } from '../../lambda/src/quota/dynamodb-counter-store';
import { clientKey, QuotaGuard } from '../../lambda/src/quota/quota-guard';
import { GatewayError } from '../../lambda/src/http/errors';

const noon = new Date('2026-03-14T12:00:00Z');
/** The guard is told the time; the store must agree with it about which counters have expired. */
let clock = noon;
const memoryStore = () => new MemoryCounterStore(() => clock);
beforeEach(() => {
  clock = noon;
});

async function outcomes(promises: Array<Promise<unknown>>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const result of await Promise.allSettled(promises)) {
    const key = result.status === 'fulfilled' ? 'accepted' : (result.reason as GatewayError).code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Waits a random few milliseconds, so concurrent calls interleave differently each time. */
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));

describe('MemoryCounterStore', () => {
  it('accepts exactly the limit when 50 requests race for 10', async () => {
    const store = new MemoryCounterStore(() => clock);
    const results = await Promise.all(
      Array.from({ length: 50 }, async () => {
        await jitter();
        return store.tryAdd('k', 1, 10, clock.getTime() / 1000 + 60);
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('forgets a counter once it expires and gives back subtracted amounts', async () => {
    let now = 1000;
    const store = new MemoryCounterStore(() => new Date(now * 1000));
    expect(await store.tryAdd('k', 3, 3, 1010)).toBe(true);
    expect(await store.tryAdd('k', 1, 3, 1010)).toBe(false);
    await store.subtract('k', 2);
    expect(await store.tryAdd('k', 2, 3, 1010)).toBe(true);
    now = 1011;
    expect(await store.tryAdd('k', 3, 3, 1020)).toBe(true);
  });
});

describe('QuotaGuard', () => {
  const guard = (store: CounterStore, perIpPerDay: number, globalPerDay: number) =>
    new QuotaGuard(store, { perIpPerDay, globalPerDay });

  it('lets one client through exactly its daily images when 50 requests race', async () => {
    const quota = guard(memoryStore(), 10, 1000);
    const counts = await outcomes(Array.from({ length: 50 }, () => jitter().then(() => quota.reserve('client-a', 1, noon))));
    expect(counts).toEqual({ accepted: 10, quota_exceeded: 40 });
  });

  it('holds the global spend guard across many clients, refunding their per-client counters', async () => {
    const store = memoryStore();
    const quota = guard(store, 3, 10);
    const counts = await outcomes(
      Array.from({ length: 50 }, (_, index) => jitter().then(() => quota.reserve(`client-${index}`, 1, noon))),
    );
    expect(counts).toEqual({ accepted: 10, spend_guard: 40 });
    // A refused client was not charged: with a larger budget it still has its full 3 images.
    const roomier = guard(store, 3, 1000);
    for (let i = 0; i < 3; i++) await roomier.reserve('client-49', 1, noon);
    await expect(roomier.reserve('client-49', 1, noon)).rejects.toMatchObject({ code: 'quota_exceeded' });
  });

  it('counts images, not requests, and says when to come back', async () => {
    const quota = guard(memoryStore(), 5, 100);
    await quota.reserve('c', 4, noon);
    const refusal = await quota.reserve('c', 2, noon).catch((error: GatewayError) => error);
    expect(refusal).toBeInstanceOf(GatewayError);
    expect(refusal).toMatchObject({ code: 'quota_exceeded', status: 429, retryAfterSeconds: 12 * 3600 });
    expect((refusal as GatewayError).message).toMatch(/limit of 5 images; try again after 00:00 UTC/);
    await expect(quota.reserve('c', 1, noon)).resolves.toBeDefined();
  });

  it('says the spend guard message with 503 and the reset time', async () => {
    const quota = guard(memoryStore(), 5, 1);
    await quota.reserve('a', 1, noon);
    await expect(quota.reserve('b', 1, new Date('2026-03-14T23:59:30Z'))).rejects.toMatchObject({
      code: 'spend_guard',
      status: 503,
      retryAfterSeconds: 30,
      message: 'the daily image budget of this site is used up; try again after 00:00 UTC',
    });
  });

  it('starts afresh on the next UTC day', async () => {
    const quota = guard(memoryStore(), 1, 1);
    await quota.reserve('a', 1, noon);
    await expect(quota.reserve('a', 1, noon)).rejects.toMatchObject({ code: 'quota_exceeded' });
    clock = new Date('2026-03-15T00:00:01Z');
    await expect(quota.reserve('a', 1, clock)).resolves.toBeDefined();
  });

  it('release gives the images back to both counters, once', async () => {
    const quota = guard(memoryStore(), 2, 2);
    const reservation = await quota.reserve('a', 2, noon);
    await reservation.release();
    await reservation.release();
    await quota.reserve('a', 2, noon);
    await expect(quota.reserve('b', 1, noon)).rejects.toMatchObject({ code: 'spend_guard' });
  });

  it('a limit of zero refuses everything', async () => {
    await expect(guard(memoryStore(), 0, 10).reserve('a', 1, noon)).rejects.toMatchObject({ code: 'quota_exceeded' });
  });

  it('keys clients by a keyed hash, never by the address itself', () => {
    const key = clientKey('198.51.100.23', 's'.repeat(32));
    expect(key).not.toContain('198');
    expect(key).toHaveLength(22);
    expect(clientKey('198.51.100.23', 's'.repeat(32))).toBe(key);
    expect(clientKey('198.51.100.24', 's'.repeat(32))).not.toBe(key);
    expect(clientKey('198.51.100.23', 't'.repeat(32))).not.toBe(key);
  });
});

describe('DynamoDbCounterStore', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const store = new DynamoDbCounterStore(client, 'quota-table');

  beforeEach(() => dynamo.reset());

  it('adds with one conditional UpdateItem that sets the TTL', async () => {
    dynamo.on(UpdateCommand).resolves({});
    expect(await store.tryAdd('quota#global#2026-03-14', 2, 10, 1773619200)).toBe(true);
    expect(dynamo.commandCalls(UpdateCommand)[0].args[0].input).toEqual({
      TableName: 'quota-table',
      Key: { pk: 'quota#global#2026-03-14' },
      UpdateExpression: 'ADD #count :amount SET #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#count) OR #count <= :ceiling',
      ExpressionAttributeNames: { '#count': 'count', '#ttl': 'expires_at' },
      ExpressionAttributeValues: { ':amount': 2, ':ceiling': 8, ':ttl': 1773619200 },
    });
  });

  it('reports a failed condition as "over the limit"', async () => {
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    expect(await store.tryAdd('k', 1, 10, 0)).toBe(false);
  });

  it('never asks DynamoDB for more than the limit', async () => {
    expect(await store.tryAdd('k', 5, 4, 0)).toBe(false);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('lets throttling through to the caller', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: { throttling: true } });
    dynamo.on(UpdateCommand).rejects(throttled);
    await expect(store.tryAdd('k', 1, 10, 0)).rejects.toThrow('Rate exceeded');
  });

  it('subtracts only from a counter that still exists', async () => {
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'gone', $metadata: {} }));
    await expect(store.subtract('k', 3)).resolves.toBeUndefined();
    expect(dynamo.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      UpdateExpression: 'ADD #count :amount',
      ConditionExpression: 'attribute_exists(#count)',
      ExpressionAttributeValues: { ':amount': -3 },
    });
  });

  it('holds the limits when 50 requests race, given DynamoDB applies each update atomically', async () => {
    // DynamoDB serialises updates of one item and checks the condition against the current value:
    // modelled here by evaluating the store's own expression values on one shared table, with
    // random latency so the guard's calls (reserve, refund) interleave as they would in Lambda.
    const table = new Map<string, number>();
    dynamo.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => {
      await jitter();
      const key = String(input.Key!.pk);
      const values = input.ExpressionAttributeValues!;
      const current = table.get(key);
      if (input.ConditionExpression === 'attribute_not_exists(#count) OR #count <= :ceiling') {
        if (current !== undefined && current > values[':ceiling']) {
          throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
        }
      } else if (input.ConditionExpression === 'attribute_exists(#count)' && current === undefined) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
      }
      table.set(key, (current ?? 0) + values[':amount']);
      await jitter();
      return {};
    });
    const quota = new QuotaGuard(store, { perIpPerDay: 10, globalPerDay: 25 });
    const sameClient = await outcomes(Array.from({ length: 50 }, () => quota.reserve('one', 1, noon)));
    expect(sameClient).toEqual({ accepted: 10, quota_exceeded: 40 });
    const manyClients = await outcomes(Array.from({ length: 50 }, (_, index) => quota.reserve(`c${index}`, 1, noon)));
    expect(manyClients).toEqual({ accepted: 15, spend_guard: 35 });
    expect(table.get('quota#global#2026-03-14')).toBe(25);
  });
});
