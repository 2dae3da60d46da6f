/**
 * One generation at a time per GPU: a second UNet batch on the same device only splits its time and
 * doubles memory. Requests wait in a bounded line; past the bound they are refused at once, which
 * the caller turns into a retryable 429.
 */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the server is busy; retry shortly');
    this.name = 'QueueFullError';
  }
}

export class ShuttingDownError extends Error {
  constructor() {
    super('the server is shutting down');
    this.name = 'ShuttingDownError';
  }
}

export interface QueuedTask<T> {
  /** Runs the work; must honour `signal` between steps. */
  readonly run: (signal: AbortSignal) => Promise<T>;
  /** Aborted when the caller no longer wants the result (client gone, timeout). */
  readonly signal: AbortSignal;
}

interface Entry {
  readonly start: () => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal;
}

export class GenerationQueue {
  private readonly waiting: Entry[] = [];
  private running: { controller: AbortController; done: Promise<void> } | undefined;
  private accepting = true;
  /** Rough seconds per generation, for Retry-After. */
  private averageSeconds = 5;

  constructor(private readonly maxWaiting: number) {}

  get depth(): { running: number; waiting: number } {
    return { running: this.running ? 1 : 0, waiting: this.waiting.length };
  }

  submit<T>(task: QueuedTask<T>): Promise<T> {
    if (!this.accepting) return Promise.reject(new ShuttingDownError());
    if (task.signal.aborted) return Promise.reject(abortReason(task.signal));
    if (this.running && this.waiting.length >= this.maxWaiting) {
      const retryAfter = Math.max(1, Math.ceil(this.averageSeconds * (this.waiting.length + 1)));
      return Promise.reject(new QueueFullError(retryAfter));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        signal: task.signal,
        reject,
        start: () => {
          const controller = new AbortController();
          const forward = () => controller.abort(abortReason(task.signal));
          task.signal.addEventListener('abort', forward, { once: true });
          const started = performance.now();
          const done = task
            .run(controller.signal)
            // A cancelled run reports why it was cancelled (timeout, client gone, shutdown), not how it stopped.
            .then(resolve, (error: unknown) => reject(controller.signal.aborted ? abortReason(controller.signal) : error))
            .finally(() => {
              task.signal.removeEventListener('abort', forward);
              this.averageSeconds = 0.7 * this.averageSeconds + 0.3 * ((performance.now() - started) / 1000);
              this.running = undefined;
              this.startNext();
            });
          this.running = { controller, done };
        },
      };
      // A request that gives up while waiting leaves the line at once.
      task.signal.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(entry);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            reject(abortReason(task.signal));
          }
        },
        { once: true },
      );
      this.waiting.push(entry);
      if (!this.running) this.startNext();
    });
  }

  /**
   * Stops taking work, refuses everything waiting, lets the running task finish for up to `graceMs`,
   * then cancels it. Resolves once nothing runs.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    for (const entry of this.waiting.splice(0)) entry.reject(new ShuttingDownError());
    const current = this.running;
    if (!current) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([current.done.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      current.controller.abort(new ShuttingDownError());
      await current.done;
    }
  }

  private startNext(): void {
    if (this.running || !this.accepting) return;
    const next = this.waiting.shift();
    next?.start();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
