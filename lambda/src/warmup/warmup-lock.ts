import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../facts/table-keys';
import { isConditionalCheckFailure } from '../quota/dynamodb-counter-store';

/**
 * At most one warm-up in flight per deployment: a lease that expires by itself, so a warm-up whose
 * gateway died never blocks the next one for longer than the lease.
 */
export interface WarmUpLock {
  /** Takes the lease from `now` until `expiresAt` unless another unexpired one is held; true when taken. */
  tryAcquire(now: Date, expiresAt: Date): Promise<boolean>;
  /** The unexpired lease at `now`, if one is held: a warm-up in flight since `takenAt`. */
  held(now: Date): Promise<WarmUpLease | undefined>;
  /** Gives the lease back early (the warm-up could not be started). */
  release(): Promise<void>;
}

export interface WarmUpLease {
  readonly takenAt: Date;
  readonly expiresAt: Date;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
const fromEpochSeconds = (seconds: number) => new Date(seconds * 1000);
/** The item's attribute saying when the lease was taken, so `/v1/status` can say how long a warm-up has run. */
const TAKEN_AT = 'taken_at';

/**
 * The lease as one item in the gateway's table, taken by a conditional put. Its expiry is the
 * table's TTL attribute: the condition compares it, so a lease is free the second it expires, and
 * TTL deletes the item some time later.
 */
export class DynamoDbWarmUpLock implements WarmUpLock {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async tryAcquire(now: Date, expiresAt: Date): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp, [TABLE_KEYS.ttlAttribute]: epochSeconds(expiresAt), [TAKEN_AT]: epochSeconds(now) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #expires < :now',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#expires': TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: { ':now': epochSeconds(now) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async held(now: Date): Promise<WarmUpLease | undefined> {
    // A conditional no-op would cost a write; a strongly consistent read is enough to report.
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp }, ConsistentRead: true }),
    );
    const expires = Number(item?.[TABLE_KEYS.ttlAttribute]);
    if (item === undefined || !(expires >= epochSeconds(now))) return undefined;
    // A lease written before takenAt was stored counts from now: it says "warming", not for how long.
    const takenAt = Number(item[TAKEN_AT]);
    return { takenAt: Number.isFinite(takenAt) ? fromEpochSeconds(takenAt) : now, expiresAt: fromEpochSeconds(expires) };
  }

  async release(): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp } }));
  }
}

/** The lease in process memory, for local mode (one gateway process) and tests. */
export class MemoryWarmUpLock implements WarmUpLock {
  private takenAt = 0;
  private expiresAt = 0;

  async tryAcquire(now: Date, expiresAt: Date): Promise<boolean> {
    // No await between the check and the write: atomic on the event loop.
    if (epochSeconds(now) <= this.expiresAt) return false;
    this.takenAt = epochSeconds(now);
    this.expiresAt = epochSeconds(expiresAt);
    return true;
  }

  async held(now: Date): Promise<WarmUpLease | undefined> {
    if (epochSeconds(now) > this.expiresAt) return undefined;
    return { takenAt: fromEpochSeconds(this.takenAt), expiresAt: fromEpochSeconds(this.expiresAt) };
  }

  async release(): Promise<void> {
    this.takenAt = 0;
    this.expiresAt = 0;
  }
}
