import { createHmac } from 'node:crypto';
import { GatewayError } from '../http/errors';
import { TABLE_KEYS } from '../../facts/table-keys';
import type { CounterStore } from './counter-store';
import { hhmm, nextUtcMidnight, secondsUntilMidnight, utcDay } from './utc-day';

export interface QuotaLimits {
  readonly perIpPerDay: number;
  /** The spend guard: images per UTC day for the whole site. */
  readonly globalPerDay: number;
}

/** Which counters a reservation took from, kept on the job so a later cancel can give them back. */
export interface QuotaTicket {
  readonly client: string;
  readonly day: string;
  readonly images: number;
}

/** Images taken from today's quotas; give them back if the job never reaches the backend. */
export interface QuotaReservation {
  readonly ticket: QuotaTicket;
  release(): Promise<void>;
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * Counters keep the address only as a keyed hash: quota items must not become a log of visitors'
 * IP addresses, and without the key the hash cannot be reversed by trying all 2^32 addresses.
 */
export function clientKey(ip: string, secret: string): string {
  return createHmac('sha256', secret).update('client-ip\0').update(ip).digest('base64url').slice(0, 22);
}

/**
 * Daily image quotas per client and for the whole site. The per-client counter is taken first so
 * one noisy client is refused without touching the hot global counter.
 */
export class QuotaGuard {
  constructor(
    private readonly store: CounterStore,
    private readonly limits: QuotaLimits,
  ) {}

  async reserve(client: string, images: number, now: Date): Promise<QuotaReservation> {
    const day = utcDay(now);
    const reset = nextUtcMidnight(now);
    const retryAfterSeconds = secondsUntilMidnight(now);
    // Kept a day past the window so a late request near midnight still finds its counter.
    const expiresAt = Math.floor(reset.getTime() / 1000) + DAY_SECONDS;
    const clientCounter = TABLE_KEYS.quota(`ip#${client}`, day);
    const globalCounter = TABLE_KEYS.quota('global', day);

    if (!(await this.store.tryAdd(clientCounter, images, this.limits.perIpPerDay, expiresAt))) {
      throw new GatewayError(
        'quota_exceeded',
        `you have reached today's limit of ${this.limits.perIpPerDay} images; try again after ${hhmm(reset)} UTC`,
        { retryAfterSeconds },
      );
    }
    let globalTaken: boolean;
    try {
      globalTaken = await this.store.tryAdd(globalCounter, images, this.limits.globalPerDay, expiresAt);
    } catch (error) {
      // The caller reports `error`; a failed refund on top of it would only hide the cause.
      await this.store.subtract(clientCounter, images).catch(() => undefined);
      throw error;
    }
    if (!globalTaken) {
      await this.store.subtract(clientCounter, images);
      throw new GatewayError(
        'spend_guard',
        `the daily image budget of this site is used up; try again after ${hhmm(reset)} UTC`,
        { retryAfterSeconds },
      );
    }
    let released = false;
    const ticket: QuotaTicket = { client, day, images };
    return {
      ticket,
      release: async () => {
        if (released) return;
        released = true;
        await this.refund(ticket);
      },
    };
  }

  /**
   * Gives a job's images back to the counters it was taken from. The caller makes sure this
   * happens once per job (the job's transition to `canceled` is conditional).
   */
  async refund(ticket: QuotaTicket): Promise<void> {
    await Promise.all([
      this.store.subtract(TABLE_KEYS.quota(`ip#${ticket.client}`, ticket.day), ticket.images),
      this.store.subtract(TABLE_KEYS.quota('global', ticket.day), ticket.images),
    ]);
  }
}
