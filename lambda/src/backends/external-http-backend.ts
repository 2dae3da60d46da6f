import type { GenerationRequest } from '../../../contract/generation-request';
import type { ImageStore } from '../images/image-store';
import { BUSY_RETRY_AFTER_SECONDS, GatewayError } from '../http/errors';
import type { JobRecord } from '../jobs/job';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from './backend';
import { EngineHttpClient, EngineHttpError, EngineUnreachableError } from './engine-http-client';
import { engineRequestOf, jobAfterEngineError, succeededJob } from './engine-output';
import type { Clock } from '../clock';

export interface ExternalHttpBackendProps {
  readonly client: EngineHttpClient;
  readonly images: ImageStore;
  readonly now: Clock;
}

/**
 * A GPU rented elsewhere that runs our container (or anything keeping its contract) behind a URL
 * and an API key. Synchronous: the job is finished when `submit` returns.
 */
export class ExternalHttpBackend implements GenerationBackend {
  private readonly now: Clock;

  constructor(private readonly props: ExternalHttpBackendProps) {
    this.now = props.now;
  }

  async submit(job: JobRecord, request?: GenerationRequest): Promise<JobRecord> {
    const started = { ...job, started_at: this.now().toISOString() };
    try {
      const response = await this.props.client.invoke(engineRequestOf(job, request));
      return await succeededJob(started, response, this.props.images, this.now());
    } catch (error) {
      if (error instanceof EngineHttpError) return jobAfterEngineError(started, error.status, error.body, this.now());
      if (error instanceof EngineUnreachableError) {
        throw new GatewayError('backend_busy', 'the image generator did not answer; try again shortly', {
          retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
          cause: error,
        });
      }
      throw error;
    }
  }

  async refresh(job: JobRecord): Promise<JobRecord> {
    return job;
  }

  /** A provider's instance counts are not ours to see: one engine, answering or not. */
  /** The one synchronous call is already in flight when a cancel can arrive: the engine finishes it. */
  async cancel(): Promise<CancelOutcome> {
    return 'spent';
  }

  async status(): Promise<BackendCapacity> {
    let ping: number;
    try {
      ping = await this.props.client.ping();
    } catch {
      return { state: 'cold', instances: { current: 0, desired: 1 }, queueDepth: 0 };
    }
    if (ping === 200) return { state: 'warm', instances: { current: 1, desired: 1 }, queueDepth: 0 };
    return { state: 'warming', instances: { current: 0, desired: 1 }, queueDepth: 0 };
  }
}
