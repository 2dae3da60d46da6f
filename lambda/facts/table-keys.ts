/**
 * The gateway's one DynamoDB table, as the infrastructure must create it: on-demand, partition
 * key `pk` (string), no sort key, TTL on `expires_at` (epoch seconds). It holds the daily quota
 * counters, the per-address rate counters (without WAF), the day's GPU-time ledger, the job
 * records and the warm-up lease.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  /** DynamoDB's attribute type of the partition key: a string. */
  partitionKeyType: 'S',
  ttlAttribute: 'expires_at',
  /** By the job's reference, never its id (the id is the caller's credential). */
  job: (ref: string) => `job#${ref}`,
  quota: (scope: string, day: string) => `quota#${scope}#${day}`,
  /** One counter per scope, client and window; `windowStart` in epoch seconds. */
  rate: (scope: string, client: string, windowStart: number) => `rate#${scope}#${client}#${windowStart}`,
  gpuTime: (day: string) => `gpu#${day}`,
  /** The one warm-up lease of the deployment (`lambda/src/warmup/warmup-lock.ts`). */
  warmUp: 'warmup',
} as const;
