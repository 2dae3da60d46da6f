import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../facts/table-keys';
import { isConditionalCheckFailure } from '../quota/dynamodb-counter-store';

/**
 * At most one warm-up in flight per deployment: a lease that expires by itself, so a warm-up whose
 * gateway died never blocks the next one for longer than the lease.
 */
export interface WarmUpLock {
  /** Takes the lease until `expiresAt` unless another unexpired one is held; true when taken. */
  tryAcquire(now: Date, expiresAt: Date): Promise<boolean>;
  /** Whether an unexpired lease is held at `now`. */
  held(now: Date): Promise<boolean>;
  /** Gives the lease back early (the warm-up could not be started). */
  release(): Promise<void>;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

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
          Item: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp, [TABLE_KEYS.ttlAttribute]: epochSeconds(expiresAt) },
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

  async held(now: Date): Promise<boolean> {
    // A conditional no-op would cost a write; a strongly consistent read is enough to report.
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp }, ConsistentRead: true }),
    );
    return item !== undefined && Number(item[TABLE_KEYS.ttlAttribute]) >= epochSeconds(now);
  }

  async release(): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.warmUp } }));
  }
}

/** The lease in process memory, for local mode (one gateway process) and tests. */
export class MemoryWarmUpLock implements WarmUpLock {
  private expiresAt = 0;

  async tryAcquire(now: Date, expiresAt: Date): Promise<boolean> {
    // No await between the check and the write: atomic on the event loop.
    if (epochSeconds(now) <= this.expiresAt) return false;
    this.expiresAt = epochSeconds(expiresAt);
    return true;
  }

  async held(now: Date): Promise<boolean> {
    return epochSeconds(now) <= this.expiresAt;
  }

  async release(): Promise<void> {
    this.expiresAt = 0;
  }
}
