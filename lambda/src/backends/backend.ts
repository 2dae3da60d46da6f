import type { FieldError, GenerationRequest } from '../../../contract/generation-request';
import type { ModelInfo } from '../../../contract/model-info';
import type { BackendState } from '../../../contract/status';
import type { JobRecord } from '../jobs/job';

/** What a backend can tell about its capacity, before any estimate is made from it. */
export interface BackendCapacity {
  readonly state: BackendState;
  readonly instances: { readonly current: number; readonly desired: number };
  /** Requests waiting or running. */
  readonly queueDepth: number;
  /** Seconds already spent starting, when the backend knows since when it has been warming. */
  readonly warmingForSeconds?: number;
  /** The model the engine has loaded, where the backend can ask it (local mode). */
  readonly model?: ModelInfo;
}

/**
 * What cancelling did on the backend's side:
 * - `dropped`: the job had not started and never will; its images go back to the quota;
 * - `stopped`: it was running and is being stopped between steps;
 * - `spent`: the backend has taken it and cannot be told (SageMaker async, a synchronous call in
 *   flight); its result is discarded when it arrives, and the compute is paid all the same.
 */
export type CancelOutcome = 'dropped' | 'stopped' | 'spent';

/**
 * One way of running generations: SageMaker async, SageMaker real-time or serverless, an external
 * HTTP GPU provider, or the local engine. The gateway's routes use nothing else.
 */
export interface GenerationBackend {
  /**
   * Hands a new job to the backend with its request (the job's `parameters` plus what the record
   * does not keep, an init image; @default job.parameters) and returns the
   * job as it stands afterwards: still queued for asynchronous backends, finished for synchronous
   * ones. Throws `GatewayError('backend_busy')` when the caller should retry later.
   */
  submit(job: JobRecord, request?: GenerationRequest): Promise<JobRecord>;
  /**
   * What this backend cannot run of a valid request (a size its memory cannot hold), checked
   * before any quota is taken. @default - everything the public schema accepts runs
   */
  refuse?(request: GenerationRequest): FieldError | undefined;
  /** Returns the job brought up to date with what the backend knows; unchanged if nothing moved. */
  refresh(job: JobRecord): Promise<JobRecord>;
  /**
   * The model the engine has loaded, for backends that can ask it (local mode); deployments in AWS
   * state it in their configuration instead. @default - unknown
   */
  model?(): Promise<ModelInfo | undefined>;
  /** Asks the backend to forget a queued or running job; the gateway records it as `canceled`. */
  cancel(job: JobRecord): Promise<CancelOutcome>;
  status(): Promise<BackendCapacity>;
  /**
   * Starts loading the engine before any job asks for it (`POST /v1/warmups`), where that is cheap
   * for this backend, and returns whether a warm-up was started. It never creates a job.
   * @default - nothing to warm: serverless and external backends are warmed by their first request
   * or their provider, and the local engine loads when the process starts
   */
  warmUp?(): Promise<boolean>;
  /** A warm-up wakes a GPU billed by the minute: the route charges it to the GPU-time guard first. @default false */
  readonly warmUpWakesGpu?: boolean;
}
