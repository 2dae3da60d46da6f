import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JobStatus } from '../../../contract/job';
import { toStoredJob, type JobKey, type JobRecord, type StoredJob } from './job';
import type { JobStore } from './job-store';
import { recordExpiry } from './retention';
import { isConditionalCheckFailure } from '../quota/dynamodb-counter-store';
import { TABLE_KEYS } from '../../facts/table-keys';

/**
 * Jobs as items of the gateway's table (`pk` = `job#<ref>`, the record without its id), beside the quota counters, so the
 * gateway needs one on-demand table. The record sits in one map attribute: it is always read and
 * written whole, and a transition is a conditional put on its status.
 */
export class DynamoDbJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: JobRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: this.item(job),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
      }),
    );
  }

  async get(key: JobKey): Promise<JobRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [TABLE_KEYS.partitionKey]: TABLE_KEYS.job(key.ref) },
        // A poll right after the submit must see the job.
        ConsistentRead: true,
      }),
    );
    const stored = result.Item?.job as StoredJob | undefined;
    return stored && { ...stored, id: key.id };
  }

  async transition(from: JobStatus, job: JobRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.item(job),
          ConditionExpression: '#job.#status = :from',
          ExpressionAttributeNames: { '#job': 'job', '#status': 'status' },
          ExpressionAttributeValues: { ':from': from },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  private item(job: JobRecord): Record<string, unknown> {
    return {
      [TABLE_KEYS.partitionKey]: TABLE_KEYS.job(job.ref),
      [TABLE_KEYS.ttlAttribute]: recordExpiry(job),
      job: toStoredJob(job),
    };
  }
}
