import type { GenerationRequest } from '../../../contract/generation-request';
import type { EngineWarmUpEvent } from '../../../contract/engine-invocation';
import type { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointAsyncCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ImageStore } from '../images/image-store';
import type { JobRecord } from '../jobs/job';
import { JOB_RETENTION } from '../../facts/retention';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from './backend';
import { engineRequestOf } from './engine-output';
import { refreshFromS3Result } from './s3-job-result';
import type { Clock } from '../clock';

export interface SageMakerAsyncBackendProps {
  readonly s3: S3Client;
  readonly runtime: SageMakerRuntimeClient;
  readonly images: ImageStore;
  readonly endpointName: string;
  readonly bucket: string;
  /** Key prefix for request bodies. @default 'inputs/' */
  readonly inputPrefix?: string;
  /**
   * `backend.warmOnVisit`: a visitor's arrival wakes the GPU (about $0.15 a wake-up, charged to the
   * GPU-time budget by the route). @default false
   */
  readonly warmOnVisit?: boolean;
  readonly status: () => Promise<BackendCapacity>;
  readonly logger: Logger;
  readonly now: Clock;
}

/**
 * SageMaker asynchronous inference: the request waits in SageMaker's own queue, so a job submitted
 * while the endpoint has zero instances is kept (up to RequestTTLSeconds) and runs once the
 * scaling policy has started an instance. Results are read from S3 when the job is polled.
 */
export class SageMakerAsyncBackend implements GenerationBackend {
  private readonly inputPrefix: string;
  private readonly now: Clock;

  constructor(private readonly props: SageMakerAsyncBackendProps) {
    this.inputPrefix = props.inputPrefix ?? 'inputs/';
    this.now = props.now;
  }

  async submit(job: JobRecord, request?: GenerationRequest): Promise<JobRecord> {
    const key = `${this.inputPrefix}${job.ref}.json`;
    await this.props.s3.send(
      new PutObjectCommand({
        Bucket: this.props.bucket,
        Key: key,
        Body: JSON.stringify(engineRequestOf(job, request)),
        ContentType: 'application/json',
      }),
    );
    const invoked = await this.props.runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: this.props.endpointName,
        InputLocation: `s3://${this.props.bucket}/${key}`,
        // The reference, not the id: SageMaker logs it and its SNS notifications carry it. It is
        // also our logs' job_ref, so the two line up.
        InferenceId: job.ref,
        ContentType: 'application/json',
        Accept: 'application/json',
        RequestTTLSeconds: JOB_RETENTION.pendingSeconds,
      }),
    );
    if (!invoked.OutputLocation) throw new Error('InvokeEndpointAsync returned no OutputLocation');
    return {
      ...job,
      backend_ref: {
        output_location: invoked.OutputLocation,
        ...(invoked.FailureLocation ? { failure_location: invoked.FailureLocation } : {}),
      },
    };
  }

  /**
   * SageMaker async has no way to withdraw a queued request: the endpoint will run it (waking up
   * for it if need be), and the gateway discards the result because the job reads `canceled`.
   */
  async cancel(): Promise<CancelOutcome> {
    return 'spent';
  }

  async refresh(job: JobRecord): Promise<JobRecord> {
    return refreshFromS3Result(job, { s3: this.props.s3, images: this.props.images, logger: this.props.logger, now: this.now });
  }

  status(): Promise<BackendCapacity> {
    return this.props.status();
  }

  get warmUpWakesGpu(): boolean {
    return this.props.warmOnVisit ?? false;
  }

  /**
   * Any queued request starts an instance (the scale-from-zero policy watches the backlog), and
   * the engine loads the model when its container starts. The engine answers the warm-up event
   * with `{warmed: true}` once up (http-server.ts): that answer is the only output, and nothing is
   * generated. Off unless the operator opted in.
   */
  async warmUp(): Promise<boolean> {
    if (!this.warmUpWakesGpu) return false;
    const event: EngineWarmUpEvent = { warmup: true };
    const key = `${this.inputPrefix}warmup-${this.now().getTime()}.json`;
    await this.props.s3.send(
      new PutObjectCommand({ Bucket: this.props.bucket, Key: key, Body: JSON.stringify(event), ContentType: 'application/json' }),
    );
    await this.props.runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: this.props.endpointName,
        InputLocation: `s3://${this.props.bucket}/${key}`,
        InferenceId: 'warmup',
        ContentType: 'application/json',
        Accept: 'application/json',
        RequestTTLSeconds: JOB_RETENTION.pendingSeconds,
      }),
    );
    return true;
  }
}
