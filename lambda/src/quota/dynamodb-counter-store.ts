import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../facts/table-keys';
import type { CounterStore } from './counter-store';

export function isConditionalCheckFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException'
  );
}

/**
 * Counters as items of the gateway's table. One conditional `UpdateItem` with `ADD` both checks
 * and increments, so concurrent Lambdas can never together pass the limit. (A transaction over
 * both counters would be tidier but makes concurrent requests on the hot global counter fail
 * with TransactionConflict; single-item updates on one key are serialised by DynamoDB instead.)
 */
export class DynamoDbCounterStore implements CounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async tryAdd(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean> {
    if (amount > limit) return false;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: key },
          UpdateExpression: 'ADD #count :amount SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count <= :ceiling',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: { ':amount': amount, ':ceiling': limit - amount, ':ttl': expiresAt },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async subtract(key: string, amount: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TABLE_KEYS.partitionKey]: key },
          UpdateExpression: 'ADD #count :amount',
          // A counter that expired meanwhile stays gone rather than coming back negative.
          ConditionExpression: 'attribute_exists(#count)',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':amount': -amount },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }
}
