import type { OutputFormat } from '../../container/src/api/limits';

/**
 * The public API's answers as the page reads them (the gateway's contract, fixed in the team brief).
 * Types only: nothing here reaches the bundle.
 */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';

export interface JobImage {
  /** Presigned and short-lived in AWS; possibly relative in local mode. */
  readonly url: string;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly format: OutputFormat;
}

export interface Job {
  readonly id: string;
  readonly status: JobStatus;
  readonly created_at: string;
  readonly started_at?: string;
  readonly completed_at?: string;
  /** Resolved settings; the gateway decides which keys it echoes, so every key is optional. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly images?: readonly JobImage[];
  readonly error?: { readonly code: string; readonly message: string };
}

export type BackendState = 'cold' | 'warming' | 'warm';

export interface BackendStatus {
  readonly state: BackendState;
  readonly instances: { readonly current: number; readonly desired: number };
  readonly queue_depth: number;
  readonly estimated_wait_seconds: number;
  readonly message: string;
}

export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly field?: string;
    readonly request_id?: string;
    readonly retry_after_seconds?: number;
  };
}
