import type { Clock } from '../clock';

/** Daily counters that only move atomically: DynamoDB in AWS, process memory locally. */
export interface CounterStore {
  /**
   * Adds `amount` to the counter `key` unless the total would exceed `limit`, in one atomic step.
   * Returns whether it was added. `expiresAt` (epoch seconds) lets the store forget old counters.
   */
  tryAdd(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean>;
  /** Gives back `amount` reserved earlier for work that never started. */
  subtract(key: string, amount: number): Promise<void>;
}

interface Counter {
  count: number;
  readonly expiresAt: number;
}

/** Pruning on every call would be O(n) per request; old days only matter once the map grows. */
const PRUNE_THRESHOLD = 10_000;

export class MemoryCounterStore implements CounterStore {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly now: Clock) {}

  async tryAdd(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean> {
    // No await between reading and writing: atomic on the event loop, however many requests race.
    if (this.counters.size > PRUNE_THRESHOLD) this.prune();
    const current = this.live(key)?.count ?? 0;
    if (current + amount > limit) return false;
    this.counters.set(key, { count: current + amount, expiresAt });
    return true;
  }

  async subtract(key: string, amount: number): Promise<void> {
    const counter = this.live(key);
    if (counter) counter.count = Math.max(0, counter.count - amount);
  }

  private live(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt <= this.now().getTime() / 1000) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  private prune(): void {
    const now = this.now().getTime() / 1000;
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
  }
}
