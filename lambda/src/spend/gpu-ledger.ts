/**
 * One UTC day of GPU time as the wake-up guard accounts it. Times are epoch seconds. The guard
 * reads an entry, decides, and writes the next one only if nobody wrote in between (the version),
 * so concurrent gateways never lose each other's charges.
 */
export interface GpuLedgerEntry {
  /** Instance-seconds charged today. */
  readonly gpuSeconds: number;
  /** When the last wake-up from zero was charged. */
  readonly wokeAt?: number;
  /** When the work admitted so far should be done. */
  readonly busyUntil: number;
  /** When the GPU should be back at zero: `busyUntil` plus the idle period and scale-in lag. */
  readonly awakeUntil: number;
  /** Counts the writes; a write succeeds only on the version it read. */
  readonly version: number;
}

export interface GpuLedgerStore {
  read(day: string): Promise<GpuLedgerEntry | undefined>;
  /**
   * Stores `entry` if the day's stored version is still `expectedVersion` (undefined: no entry
   * yet). Returns false, writing nothing, when another write came first. `expiresAt` (epoch
   * seconds) lets the store forget old days.
   */
  write(day: string, entry: GpuLedgerEntry, expectedVersion: number | undefined, expiresAt: number): Promise<boolean>;
}

/** The ledger in process memory, for tests and single-process use. */
export class MemoryGpuLedger implements GpuLedgerStore {
  private readonly days = new Map<string, GpuLedgerEntry>();

  async read(day: string): Promise<GpuLedgerEntry | undefined> {
    return this.days.get(day);
  }

  /** Old days stay until the process ends; a process lives far fewer days than it has memory for. */
  async write(day: string, entry: GpuLedgerEntry, expectedVersion: number | undefined, _expiresAt: number): Promise<boolean> {
    // No await between the check and the write: atomic on the event loop.
    if (this.days.get(day)?.version !== expectedVersion) return false;
    this.days.set(day, entry);
    return true;
  }
}
