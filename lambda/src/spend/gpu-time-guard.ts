import type { BackendState } from '../../../contract/status';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import { hhmm, nextUtcMidnight, secondsUntilMidnight, utcDay } from '../quota/utc-day';
import type { GpuLedgerEntry, GpuLedgerStore } from './gpu-ledger';

export interface GpuTimeGuardOptions {
  /** GPU instance-minutes per UTC day; once used, no new wake-up until midnight. */
  readonly minutesPerDay: number;
  /** From zero instances to a ready engine: billed, and the time a wake-up is still under way. */
  readonly coldStartSeconds: number;
  readonly secondsPerImage: number;
  /** Billed after the queue empties: the idle period before scale-in and the scale-in lag. */
  readonly idleSeconds: number;
  /** Writes tried when other gateways keep writing first. @default 8 */
  readonly maxAttempts?: number;
}

/** What admitting a job cost today's budget. */
export interface GpuCharge {
  /** The job found the GPU asleep and wakes it. */
  readonly wakesGpu: boolean;
  readonly chargedSeconds: number;
  /** Today's total after this job. */
  readonly gpuSeconds: number;
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * The wake-up guard: a daily budget of GPU time for a backend that sleeps at zero instances.
 *
 * Why GPU-minutes and not wake-ups per day: a wake-up's cost is fixed (boot, idle period, lag), but
 * a GPU kept up by steady traffic costs by the minute, and the bill counts minutes. Charging
 * minutes makes a long busy afternoon and ten short visits draw on the same budget.
 *
 * Whether the GPU is asleep comes from the backend's state, the same reading as `/v1/status`
 * (`cold` is asleep; `warming` and `warm` are awake), and from the ledger: for a few minutes after
 * a job wakes it, SageMaker still reports `cold` until its scaling alarm fires, and jobs arriving
 * then ride the same wake-up. Each admitted job extends the GPU's expected time up by its own
 * work, and the ledger charges exactly that extension, so its total is the union of the day's
 * awake intervals under the scale-in policy (for the first instance; more only start for a
 * backlog of jobs already admitted). Past the budget, a job that would wake the GPU is refused
 * with 503 `spend_guard` until 00:00 UTC; a job for an awake GPU still runs, since it costs only
 * its own seconds plus the idle period it extends.
 *
 * Two requests at the boundary both read the ledger; one write wins and the other re-reads it,
 * finds the wake-up under way and rides along, charged only its own work: one wake-up, both run.
 * A charge is not refunded when the job then fails to reach the backend: the ledger errs towards
 * counting GPU time that was not used, never the other way.
 */
export class GpuTimeGuard {
  private readonly maxAttempts: number;

  constructor(
    private readonly ledger: GpuLedgerStore,
    private readonly options: GpuTimeGuardOptions,
    /** The backend's state; when it cannot be read the GPU counts as asleep. */
    private readonly backendState: () => Promise<BackendState>,
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
  }

  async admit(images: number, now: Date): Promise<GpuCharge> {
    const state = await this.backendState().catch((): BackendState => 'cold');
    const day = utcDay(now);
    const expiresAt = Math.floor(nextUtcMidnight(now).getTime() / 1000) + DAY_SECONDS;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const stored = await this.ledger.read(day);
      const { charge, next } = this.decide(stored, state, images, now);
      if (await this.ledger.write(day, next, stored?.version, expiresAt)) return charge;
      // Another gateway wrote first: wait a moment so the contenders spread out, then re-read.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
    throw new GatewayError('backend_busy', 'too many requests at once; try again shortly', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }

  private decide(stored: GpuLedgerEntry | undefined, state: BackendState, images: number, now: Date) {
    const { coldStartSeconds, idleSeconds, minutesPerDay } = this.options;
    const t = now.getTime() / 1000;
    const entry = stored ?? { gpuSeconds: 0, busyUntil: 0, awakeUntil: 0, version: 0 };
    const wakeUpUnderWay = entry.wokeAt !== undefined && t < entry.wokeAt + coldStartSeconds;
    const asleep = state === 'cold' && !wakeUpUnderWay;
    if (asleep && entry.gpuSeconds >= minutesPerDay * 60) {
      throw new GatewayError(
        'spend_guard',
        `the GPU time budget of this site for today is used up; try again after ${hhmm(nextUtcMidnight(now))} UTC`,
        { retryAfterSeconds: secondsUntilMidnight(now) },
      );
    }
    const start = asleep ? t + coldStartSeconds : Math.max(t, entry.busyUntil);
    const busyUntil = start + images * this.options.secondsPerImage;
    const awakeUntil = Math.max(entry.awakeUntil, busyUntil + idleSeconds);
    // Only time not already counted: the part of [now, awakeUntil] beyond what earlier jobs paid for.
    const chargedSeconds = Math.max(0, awakeUntil - Math.max(t, entry.awakeUntil));
    const next: GpuLedgerEntry = {
      gpuSeconds: entry.gpuSeconds + chargedSeconds,
      ...(asleep ? { wokeAt: t } : entry.wokeAt !== undefined ? { wokeAt: entry.wokeAt } : {}),
      busyUntil,
      awakeUntil,
      version: (stored?.version ?? 0) + 1,
    };
    return { charge: { wakesGpu: asleep, chargedSeconds, gpuSeconds: next.gpuSeconds }, next };
  }
}
