import type { BackendCapacity } from '../backends/backend';
import type { Clock } from '../clock';

export interface StatusCacheOptions {
  /** Every open page polls the status; this keeps SageMaker's control-plane API from throttling us. @default 5000 */
  readonly freshMs?: number;
  /** An older answer is still served while the source fails. @default 60000 */
  readonly staleMs?: number;
  /** The composition root's clock: freshness is judged by the same time as everything else. */
  readonly now: Clock;
}

/** Caches a backend's status per container and shares one in-flight lookup among callers. */
export class StatusCache {
  private last?: { status: BackendCapacity; at: number };
  private pending?: Promise<BackendCapacity>;
  private readonly freshMs: number;
  private readonly staleMs: number;
  private readonly now: Clock;

  constructor(
    private readonly source: () => Promise<BackendCapacity>,
    options: StatusCacheOptions,
  ) {
    this.freshMs = options.freshMs ?? 5000;
    this.staleMs = options.staleMs ?? 60000;
    this.now = options.now;
  }

  async get(): Promise<BackendCapacity> {
    const now = this.now().getTime();
    if (this.last && now - this.last.at < this.freshMs) return this.last.status;
    this.pending ??= this.source().finally(() => {
      this.pending = undefined;
    });
    try {
      const status = await this.pending;
      this.last = { status, at: this.now().getTime() };
      return status;
    } catch (error) {
      if (this.last && now - this.last.at < this.staleMs) return this.last.status;
      throw error;
    }
  }
}
