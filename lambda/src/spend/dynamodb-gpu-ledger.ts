import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../facts/table-keys';
import { isConditionalCheckFailure } from '../quota/dynamodb-counter-store';
import type { GpuLedgerEntry, GpuLedgerStore } from './gpu-ledger';

/** Attribute names of a ledger item; the item's key is `TABLE_KEYS.gpuTime(day)`. */
const ATTRIBUTES = {
  gpuSeconds: 'gpu_seconds',
  wokeAt: 'woke_at',
  busyUntil: 'busy_until',
  awakeUntil: 'awake_until',
  version: 'version',
} as const;

/**
 * The ledger as one item per day in the gateway's table: a strongly consistent read, then a put
 * conditional on the version read (optimistic locking, as DynamoDB's own mappers do it).
 */
export class DynamoDbGpuLedger implements GpuLedgerStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(day: string): Promise<GpuLedgerEntry | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.gpuTime(day) }, ConsistentRead: true }),
    );
    if (!item) return undefined;
    return {
      gpuSeconds: Number(item[ATTRIBUTES.gpuSeconds] ?? 0),
      ...(item[ATTRIBUTES.wokeAt] !== undefined ? { wokeAt: Number(item[ATTRIBUTES.wokeAt]) } : {}),
      busyUntil: Number(item[ATTRIBUTES.busyUntil] ?? 0),
      awakeUntil: Number(item[ATTRIBUTES.awakeUntil] ?? 0),
      version: Number(item[ATTRIBUTES.version] ?? 0),
    };
  }

  async write(day: string, entry: GpuLedgerEntry, expectedVersion: number | undefined, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [TABLE_KEYS.partitionKey]: TABLE_KEYS.gpuTime(day),
            [ATTRIBUTES.gpuSeconds]: entry.gpuSeconds,
            ...(entry.wokeAt !== undefined ? { [ATTRIBUTES.wokeAt]: entry.wokeAt } : {}),
            [ATTRIBUTES.busyUntil]: entry.busyUntil,
            [ATTRIBUTES.awakeUntil]: entry.awakeUntil,
            [ATTRIBUTES.version]: entry.version,
            [TABLE_KEYS.ttlAttribute]: expiresAt,
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': ATTRIBUTES.version },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }
}
