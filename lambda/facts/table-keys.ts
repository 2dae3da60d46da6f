/**
 * The gateway's one DynamoDB table, as the infrastructure must create it: on-demand, partition
 * key `pk` (string), no sort key, TTL on `expires_at` (epoch seconds). It holds the daily quota
 * counters and the job records.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  ttlAttribute: 'expires_at',
  job: (id: string) => `job#${id}`,
  quota: (scope: string, day: string) => `quota#${scope}#${day}`,
} as const;
