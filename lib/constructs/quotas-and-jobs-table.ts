import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../lambda/facts/table-keys';

const ATTRIBUTE_TYPES = { S: dynamodb.AttributeType.STRING } as const;

/** The gateway's table of daily quota counters and job records, keyed as the gateway expects. */
export class QuotasAndJobsTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      // The same key schema and TTL attribute the gateway's stores and the tests' emulated table use.
      partitionKey: { name: TABLE_KEYS.partitionKey, type: ATTRIBUTE_TYPES[TABLE_KEYS.partitionKeyType] },
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      // On demand: an idle site pays nothing for throughput.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // Off on purpose: job records carry prompts and expire within two days (JOB_RETENTION), and a
      // restore would bring back what the API promised to forget. Losing the table costs only today's
      // quota counters and the jobs in flight.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Point-in-time recovery would keep prompts up to 35 days after the job record expires (48 h); the table holds only daily counters and short-lived jobs, nothing worth restoring.',
    });
  }
}
