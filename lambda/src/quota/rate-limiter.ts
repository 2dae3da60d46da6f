import { GatewayError } from '../http/errors';
import { TABLE_KEYS } from '../../facts/table-keys';
import { AddressList } from './address-list';
import type { CounterStore } from './counter-store';

/**
 * What a request is counted against: every request, or also the tighter `POST /v1/images` limit,
 * which `POST /v1/warmups` shares with its own counter (a warm-up can start billed compute too).
 */
export type RateScope = 'any' | 'createImage' | 'warmUp';

export interface RateLimiterOptions {
  /** Requests per address per window on every route. */
  readonly perIp: number;
  /** `POST /v1/images` per address per window. */
  readonly createImagePerIp: number;
  readonly windowSeconds: number;
  /** Addresses never counted (the allow list). @default [] */
  readonly exemptCidrs?: readonly string[];
}

/**
 * The per-address rate limit for a deployment without WAF: one atomic counter per address, scope
 * and fixed window in the quota table, taken with the same conditional update as the daily
 * quotas. A fixed window lets a client send up to twice the limit around a window's edge, which
 * WAF's own sliding count would not; the daily quotas still bound what that can cost.
 */
export class RateLimiter {
  private readonly exempt: AddressList;

  constructor(
    private readonly store: CounterStore,
    private readonly options: RateLimiterOptions,
    /** The address as the counters may store it (a keyed hash, like the quota counters). */
    private readonly clientKeyOf: (ip: string) => Promise<string>,
  ) {
    this.exempt = new AddressList(options.exemptCidrs ?? []);
  }

  /** Counts one request; throws 429 `rate_limited` with `Retry-After` once the window is full. */
  async admit(ip: string, scope: RateScope, now: Date): Promise<void> {
    if (this.exempt.has(ip)) return;
    const { windowSeconds } = this.options;
    const nowSeconds = now.getTime() / 1000;
    const windowStart = Math.floor(nowSeconds / windowSeconds) * windowSeconds;
    const windowEnd = windowStart + windowSeconds;
    const limit = scope === 'any' ? this.options.perIp : this.options.createImagePerIp;
    const key = TABLE_KEYS.rate(scope, await this.clientKeyOf(ip), windowStart);
    // The item outlives its window a little so a slow request still finds it, then TTL removes it.
    if (await this.store.tryAdd(key, 1, limit, windowEnd + windowSeconds)) return;
    throw new GatewayError(
      'rate_limited',
      scope === 'warmUp'
        ? `too many warm-ups requested from your address; at most ${limit} requests every ${windowSeconds} seconds`
        : scope === 'createImage'
        ? `too many images requested from your address; at most ${limit} requests every ${windowSeconds} seconds`
        : `too many requests from your address; at most ${limit} every ${windowSeconds} seconds`,
      { retryAfterSeconds: Math.max(1, Math.ceil(windowEnd - nowSeconds)) },
    );
  }
}
