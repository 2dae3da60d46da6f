import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { TABLE_KEYS } from '../../../lambda/facts/table-keys';

export interface EmulatedTable {
  readonly tableName: string;
  /** A low-level client, to read items as DynamoDB stores them (attribute types included). */
  readonly client: DynamoDBClient;
  /** The document client the gateway's stores are built with. */
  readonly documentClient: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

/**
 * DynamoDB's API (dynalite: its validation and expression evaluation over an in-memory LevelDB)
 * on a loopback port of this process, with the gateway's table created from the key schema the
 * CDK construct declares. dynalite has no UpdateTimeToLive: it keeps expired items, so tests
 * check the TTL attribute's type and value, not the deletion.
 */
export async function startEmulatedTable(tableName = 'quotas-and-jobs'): Promise<EmulatedTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
    // A conditional write that loses must surface at once, as the stores expect, not be retried.
    maxAttempts: 1,
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: TABLE_KEYS.partitionKey, AttributeType: TABLE_KEYS.partitionKeyType }],
      KeySchema: [{ AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    tableName,
    client,
    documentClient: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
