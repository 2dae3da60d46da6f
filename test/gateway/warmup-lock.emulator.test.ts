import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbWarmUpLock, MemoryWarmUpLock, type WarmUpLock } from '../../lambda/src/warmup/warmup-lock';
import { startEmulatedTable, type EmulatedTable } from '../support/emulators/dynamodb';

const noon = new Date('2026-03-14T12:00:00Z');
const at = (seconds: number) => new Date(noon.getTime() + seconds * 1000);

let emulated: EmulatedTable;
beforeAll(async () => {
  emulated = await startEmulatedTable();
});
afterAll(() => emulated.stop());

const locks: ReadonlyArray<[string, () => WarmUpLock]> = [
  ['DynamoDB (dynalite: the real conditional expression)', () => new DynamoDbWarmUpLock(emulated.documentClient, emulated.tableName)],
  ['in memory (local mode)', () => new MemoryWarmUpLock()],
];

describe.each(locks)('the warm-up lease, %s', (_name, make) => {
  let lock: WarmUpLock;
  beforeEach(async () => {
    lock = make();
    await lock.release();
  });

  it('is taken once until it expires, then free again', async () => {
    expect(await lock.tryAcquire(noon, at(60))).toBe(true);
    expect(await lock.held(at(30))).toEqual({ takenAt: noon, expiresAt: at(60) });
    expect(await lock.tryAcquire(at(30), at(90))).toBe(false);
    expect(await lock.tryAcquire(at(60), at(120))).toBe(false);
    expect(await lock.held(at(61))).toBeUndefined();
    expect(await lock.tryAcquire(at(61), at(121))).toBe(true);
    expect(await lock.tryAcquire(at(100), at(160))).toBe(false);
  });

  it('goes to exactly one of many concurrent takers', async () => {
    const taken = await Promise.all(Array.from({ length: 10 }, () => lock.tryAcquire(noon, at(60))));
    expect(taken.filter(Boolean)).toHaveLength(1);
  });

  it('is free at once when given back', async () => {
    expect(await lock.tryAcquire(noon, at(60))).toBe(true);
    await lock.release();
    expect(await lock.held(at(1))).toBeUndefined();
    expect(await lock.tryAcquire(at(1), at(61))).toBe(true);
  });
});

it('stores its expiry in the table\'s TTL attribute and when it was taken, as epoch seconds', async () => {
  const lock = new DynamoDbWarmUpLock(emulated.documentClient, emulated.tableName);
  await lock.release();
  await lock.tryAcquire(noon, at(60));
  const { Item: item } = await emulated.client.send(new GetItemCommand({ TableName: emulated.tableName, Key: { pk: { S: 'warmup' } } }));
  expect(item).toEqual({ pk: { S: 'warmup' }, expires_at: { N: String(noon.getTime() / 1000 + 60) }, taken_at: { N: String(noon.getTime() / 1000) } });
});
