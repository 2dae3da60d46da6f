import type { GenerationRequest } from '../../../contract/generation-request';
import { InvokeEndpointCommand, ModelError, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ImageStore } from '../images/image-store';
import type { JobRecord } from '../jobs/job';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from './backend';
import { engineRequestOf, jobAfterEngineError, parseEngineResponse, succeededJob } from './engine-output';
import type { Clock } from '../clock';

export interface SageMakerServerlessBackendProps {
  readonly runtime: SageMakerRuntimeClient;
  readonly images: ImageStore;
  readonly endpointName: string;
  readonly status: () => Promise<BackendCapacity>;
  readonly now: Clock;
}

/**
 * SageMaker serverless inference (or a real-time endpoint, which answers alike): one synchronous InvokeEndpoint per job, answered
 * within API Gateway's 29 s, so only for small or CPU models. The job is finished when `submit`
 * returns.
 */
export class SageMakerServerlessBackend implements GenerationBackend {
  private readonly now: Clock;

  constructor(private readonly props: SageMakerServerlessBackendProps) {
    this.now = props.now;
  }

  async submit(job: JobRecord, request?: GenerationRequest): Promise<JobRecord> {
    const started = { ...job, started_at: this.now().toISOString() };
    let body: Uint8Array | undefined;
    try {
      const result = await this.props.runtime.send(
        new InvokeEndpointCommand({
          EndpointName: this.props.endpointName,
          Body: JSON.stringify(engineRequestOf(job, request)),
          ContentType: 'application/json',
          Accept: 'application/json',
          InferenceId: job.ref,
        }),
      );
      body = result.Body;
    } catch (error) {
      // The container answered with an error status: SageMaker passes it on as ModelError.
      if (error instanceof ModelError || (error as { name?: unknown }).name === 'ModelError') {
        const modelError = error as ModelError;
        return jobAfterEngineError(started, modelError.OriginalStatusCode ?? 500, modelError.OriginalMessage, this.now());
      }
      throw error;
    }
    const response = parseEngineResponse(Buffer.from(body ?? new Uint8Array()).toString('utf8'));
    return succeededJob(started, response, this.props.images, this.now());
  }

  async refresh(job: JobRecord): Promise<JobRecord> {
    return job;
  }

  /** The one synchronous call is already in flight when a cancel can arrive: the engine finishes it. */
  async cancel(): Promise<CancelOutcome> {
    return 'spent';
  }

  status(): Promise<BackendCapacity> {
    return this.props.status();
  }
}
