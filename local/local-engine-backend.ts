import type { Logger } from '@aws-lambda-powertools/logger';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../lambda/src/http/errors';
import type { ImageStore } from '../lambda/src/images/image-store';
import { ENGINE_RETRY_LATER_STATUSES } from '../contract/errors';
import { isTerminal } from '../contract/job';
import type { JobRecord } from '../lambda/src/jobs/job';
import { JOB_RETENTION } from '../lambda/facts/retention';
import type { GenerationRequest } from '../contract/generation-request';
import type { JobProgress } from '../contract/job';
import type { ModelInfo } from '../contract/model-info';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from '../lambda/src/backends/backend';
import { EngineHttpClient, EngineHttpError, EngineUnreachableError } from '../lambda/src/backends/engine-http-client';
import { engineErrorOf, engineRequestOf, failedJob, GENERIC_FAILURE, succeededJob } from '../lambda/src/backends/engine-output';
import { ImageStoreError } from '../lambda/src/images/image-store';
import type { Clock } from '../lambda/src/clock';

export interface LocalEngineBackendProps {
  readonly client: EngineHttpClient;
  readonly images: ImageStore;
  readonly logger: Logger;
  /** Jobs waiting beyond this are refused with 503. @default 32 */
  readonly maxQueued?: number;
  readonly now: Clock;
  /**
   * The engine's own step count for a request id (the job's reference goes out as `X-Request-Id`; the engine logs it).
   * @default - no progress is reported
   */
  readonly engineProgress?: (requestId: string) => { readonly step: number; readonly steps: number; readonly preview?: string } | undefined;
  /**
   * How long a job waits for an engine nobody listens for before it fails: the engine's server
   * listens from the start (it answers 503 while it loads), so a refused connection means it is gone.
   * @default 10 000
   */
  readonly refusedGraceMs?: number;
}

/** Recorded here only; the gateway has already stored the job as `canceled`. */
const CANCELED = { code: 'canceled', message: 'the job was canceled' };
const INTERRUPTED = { code: 'interrupted', message: 'the local server restarted before this image was made; please generate it again' };
const ENGINE_STOPPED = { code: 'interrupted', message: 'the image generator stopped while making this image; please generate it again' };
const ENGINE_DOWN = { code: 'interrupted', message: 'the image generator is not running; restart npm start and generate the image again' };
const NOT_SAVED = { code: 'internal_error', message: 'the image was made but could not be saved on this computer (disk full or folder not writable); see the server log' };
const timedOut = (ms: number) => ({ code: 'timeout', message: `the image took longer than the time limit of ${ms / 1000} s (ENGINE_TIMEOUT_SECONDS)` });



/** Finished outcomes kept for polling; the job store has them too once a poll has recorded them. */
const MAX_REMEMBERED = 1000;
const RETRY_DELAYS_MS = [250, 500, 1000, 2000];

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Local mode's backend: a queue in this process in front of the engine's HTTP server, one job at a
 * time like one GPU, so a laptop behaves like the async endpoint: submit returns at once and the
 * job is polled to completion.
 */
export class LocalEngineBackend implements GenerationBackend {
  /** Waiting jobs with their full requests (an init image is not part of the job record). */
  private readonly queue: Array<{ readonly job: JobRecord; readonly request: GenerationRequest }> = [];
  private readonly outcomes = new Map<string, JobRecord>();
  private readonly stopping = new AbortController();
  private readonly maxQueued: number;
  private readonly now: Clock;
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  /** The job being generated now and how to stop it. */
  private current?: { readonly ref: string; readonly abort: AbortController };
  private loadedModel?: ModelInfo;

  constructor(private readonly props: LocalEngineBackendProps) {
    this.maxQueued = props.maxQueued ?? 32;
    this.now = props.now;
  }

  async submit(job: JobRecord, request: GenerationRequest = job.parameters): Promise<JobRecord> {
    if (this.stopping.signal.aborted) throw new Error('local backend is stopped');
    if (this.queue.length >= this.maxQueued) {
      throw new GatewayError('backend_busy', 'the local engine has too many jobs waiting; try again shortly', {
        retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
      });
    }
    this.queue.push({ job, request });
    this.outcomes.set(job.ref, job);
    if (!this.running) this.idle = this.drain();
    return job;
  }

  async refresh(job: JobRecord): Promise<JobRecord> {
    const known = this.outcomes.get(job.ref);
    if (known?.status === 'running') {
      const progress = this.progressOf(job.ref);
      return progress ? { ...known, progress } : known;
    }
    if (known) return known;
    // Submitted to an earlier run of the local server: its queue ended with that process, so say so
    // now rather than leave the job "queued" until it expires hours later.
    return isTerminal(job.status) ? job : failedJob(job, INTERRUPTED, this.now());
  }

  /** The engine's model, once it has loaded one: it does not change while the process runs. */
  async model(): Promise<ModelInfo | undefined> {
    this.loadedModel ??= (await this.props.client.health()).model;
    return this.loadedModel;
  }

  /** A queued job is taken out of the queue and never runs; the running one is stopped between steps. */
  async cancel(job: JobRecord): Promise<CancelOutcome> {
    const index = this.queue.findIndex((queued) => queued.job.ref === job.ref);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.outcomes.delete(job.ref);
      return 'dropped';
    }
    if (this.current?.ref === job.ref) {
      this.current.abort.abort();
      return 'stopped';
    }
    // Already finished here: the gateway's conditional transition decides which outcome stands.
    return 'spent';
  }

  async status(): Promise<BackendCapacity> {
    const queueDepth = this.queue.length + (this.running ? 1 : 0);
    let health: Awaited<ReturnType<EngineHttpClient['health']>>;
    try {
      health = await this.props.client.health();
    } catch {
      return { state: 'cold', instances: { current: 0, desired: 0 }, queueDepth };
    }
    return health.status === 200
      ? { state: 'warm', instances: { current: 1, desired: 1 }, queueDepth, ...(health.model ? { model: health.model } : {}) }
      : { state: 'warming', instances: { current: 0, desired: 1 }, queueDepth };
  }

  /** Stops taking jobs, cancels the one running and waits for the worker to finish. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.idle;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const { job, request } = next;
        if (this.stopping.signal.aborted) break;
        const running: JobRecord = { ...job, status: 'running', started_at: this.now().toISOString() };
        this.outcomes.set(job.ref, running);
        this.current = { ref: job.ref, abort: new AbortController() };
        try {
          this.outcomes.set(job.ref, await this.run(running, request, AbortSignal.any([this.stopping.signal, this.current.abort.signal])));
        } finally {
          this.current = undefined;
        }
        this.forgetOldOutcomes();
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs one job, waiting out a warming (503) or busy (429) engine within the pending TTL. An
   * engine that stops in the middle of the job (its connection breaks), one slower than the
   * client's timeout, or one gone for `refusedGraceMs` fails the job at once with the reason;
   * its images stay counted in the day's quota, as for any job that reached the engine.
   */
  private async run(job: JobRecord, request: GenerationRequest, signal: AbortSignal): Promise<JobRecord> {
    const deadline = Date.parse(job.created_at) + JOB_RETENTION.pendingSeconds * 1000;
    let refusedSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.props.client.invoke(engineRequestOf(job, request), signal, job.ref);
        return await succeededJob(job, response, this.props.images, this.now());
      } catch (error) {
        if (signal.aborted) {
          if (!this.stopping.signal.aborted) return failedJob(job, CANCELED, this.now());
        } else if (error instanceof EngineUnreachableError && error.reason !== 'refused') {
          this.props.logger.error('local engine did not answer', { job_ref: job.ref, reason: error.reason, error });
          return failedJob(job, error.reason === 'timeout' ? timedOut(this.props.client.timeoutMs) : ENGINE_STOPPED, this.now());
        } else if (error instanceof ImageStoreError) {
          this.props.logger.error('local image not saved', { job_ref: job.ref, error });
          return failedJob(job, NOT_SAVED, this.now());
        }
        const refused = error instanceof EngineUnreachableError && !signal.aborted;
        if (refused) refusedSince ??= this.now().getTime();
        const retryable = (error instanceof EngineHttpError && ENGINE_RETRY_LATER_STATUSES.includes(error.status)) || refused;
        const giveUpAt = refusedSince === undefined ? deadline : Math.min(deadline, refusedSince + (this.props.refusedGraceMs ?? 10_000));
        if (retryable && this.now().getTime() < giveUpAt) {
          await delay(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)], signal);
          if (!signal.aborted) continue;
          if (!this.stopping.signal.aborted) return failedJob(job, CANCELED, this.now());
        }
        if (refused) return failedJob(job, ENGINE_DOWN, this.now());
        if (error instanceof EngineHttpError) return failedJob(job, engineErrorOf(error.body), this.now());
        this.props.logger.error('local job failed', { job_ref: job.ref, error: error as Error });
        return failedJob(job, GENERIC_FAILURE, this.now());
      }
    }
  }

  private progressOf(ref: string): JobProgress | undefined {
    const progress = this.props.engineProgress?.(ref);
    if (!progress || progress.steps < 1) return undefined;
    return { step: progress.step, steps: progress.steps, fraction: Math.min(1, progress.step / progress.steps), ...(progress.preview ? { preview: progress.preview } : {}) };
  }

  private forgetOldOutcomes(): void {
    if (this.outcomes.size <= MAX_REMEMBERED) return;
    for (const [id, job] of this.outcomes) {
      if (this.outcomes.size <= MAX_REMEMBERED) break;
      if (isTerminal(job.status)) this.outcomes.delete(id);
    }
  }
}
