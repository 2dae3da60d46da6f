import type { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { EngineInvocation, EngineWarmUpEvent } from '../../../contract/engine-invocation';
import type { FieldError, GenerationRequest } from '../../../contract/generation-request';
import { checkLambdaLimits } from '../../../contract/lambda-limits';
import type { ImageStore } from '../images/image-store';
import type { JobRecord } from '../jobs/job';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from './backend';
import { engineRequestOf, failedJob } from './engine-output';
import { readEngineProgress } from './engine-progress';
import { refreshFromS3Result } from './s3-job-result';
import type { Clock } from '../clock';

export interface LambdaEngineBackendProps {
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly images: ImageStore;
  readonly functionName: string;
  readonly bucket: string;
  /** @default 'inputs/' */
  readonly inputPrefix?: string;
  /** @default 'outputs/' */
  readonly outputPrefix?: string;
  /** @default 'failures/' */
  readonly failurePrefix?: string;
  /**
   * The function's timeout. A job that started longer ago than this (plus a minute) and left no
   * answer is failed, in case even the on-failure path could not write one.
   */
  readonly functionTimeoutSeconds: number;
  readonly status: () => Promise<BackendCapacity>;
  readonly logger: Logger;
  readonly now: Clock;
}

const TIMED_OUT = { code: 'timeout', message: 'the generation ran past the time limit of the image generator' };

/**
 * The engine as an AWS Lambda function, invoked asynchronously: Lambda queues the event while
 * every allowed execution environment is busy (reserved concurrency is the spend cap) and runs it
 * once one is free. The function writes its answer where SageMaker async would, and its progress
 * beside it, so polling reads both backends alike.
 */
export class LambdaEngineBackend implements GenerationBackend {
  private readonly inputPrefix: string;
  private readonly outputPrefix: string;
  private readonly failurePrefix: string;
  private readonly now: Clock;

  constructor(private readonly props: LambdaEngineBackendProps) {
    this.inputPrefix = props.inputPrefix ?? 'inputs/';
    this.outputPrefix = props.outputPrefix ?? 'outputs/';
    this.failurePrefix = props.failurePrefix ?? 'failures/';
    this.now = props.now;
  }

  async submit(job: JobRecord, request?: GenerationRequest): Promise<JobRecord> {
    const { bucket } = this.props;
    const invocation: EngineInvocation = {
      job_ref: job.ref,
      input_location: `s3://${bucket}/${this.inputPrefix}${job.ref}.json`,
      output_location: `s3://${bucket}/${this.outputPrefix}${job.ref}.out`,
      failure_location: `s3://${bucket}/${this.failurePrefix}${job.ref}-error.out`,
      progress_location: `s3://${bucket}/${this.outputPrefix}${job.ref}.progress.json`,
      cancel_location: `s3://${bucket}/${this.cancelKey(job.ref)}`,
    };
    await this.put(`${this.inputPrefix}${job.ref}.json`, JSON.stringify(engineRequestOf(job, request)));
    const invoked = await this.props.lambda.send(
      new InvokeCommand({ FunctionName: this.props.functionName, InvocationType: 'Event', Payload: JSON.stringify(invocation) }),
    );
    if (invoked.StatusCode !== 202) throw new Error(`Lambda queued no event (status ${invoked.StatusCode})`);
    return {
      ...job,
      backend_ref: {
        output_location: invocation.output_location,
        failure_location: invocation.failure_location,
        progress_location: invocation.progress_location,
      },
    };
  }

  /** The function's memory holds one 512×512 image at a time; larger ones are refused here. */
  refuse(request: GenerationRequest): FieldError | undefined {
    return checkLambdaLimits(request);
  }

  async refresh(job: JobRecord): Promise<JobRecord> {
    const reader = { s3: this.props.s3, images: this.props.images, logger: this.props.logger, now: this.now };
    const finished = await refreshFromS3Result(job, reader);
    if (finished !== job) return finished;
    const progressLocation = job.backend_ref?.progress_location;
    const progress = progressLocation ? await readEngineProgress(this.props.s3, progressLocation) : undefined;
    if (!progress) return job;
    if (this.now().getTime() - Date.parse(progress.started_at) > (this.props.functionTimeoutSeconds + 60) * 1000) {
      // Re-read once: the answer may have landed since the first look.
      const late = await refreshFromS3Result(job, reader);
      return late !== job ? late : failedJob(job, TIMED_OUT, this.now());
    }
    return {
      ...job,
      status: 'running',
      started_at: job.started_at ?? progress.started_at,
      progress: {
        step: progress.step,
        steps: progress.steps,
        fraction: progress.steps > 0 ? Math.min(1, progress.step / progress.steps) : 0,
        ...(progress.preview ? { preview: progress.preview } : {}),
      },
    };
  }

  /**
   * Lambda cannot withdraw a queued event, so the gateway leaves a marker the function reads when
   * it starts and between steps. The function writes its progress before it first reads the
   * marker, and the gateway reads the progress after writing the marker: if the gateway sees no
   * progress, the function is sure to see the marker and never generate, so the images can go
   * back to the quota.
   */
  async cancel(job: JobRecord): Promise<CancelOutcome> {
    await this.put(this.cancelKey(job.ref), JSON.stringify({ canceled_at: this.now().toISOString() }));
    const progressLocation = job.backend_ref?.progress_location;
    const started = progressLocation ? await readEngineProgress(this.props.s3, progressLocation) : undefined;
    return started ? 'stopped' : 'dropped';
  }

  status(): Promise<BackendCapacity> {
    return this.props.status();
  }

  /**
   * Queues the function's warm-up event: it stages the model and creates the sessions (first run
   * included), then returns. Reserved concurrency still holds, so a job arriving meanwhile waits
   * for that environment and finds it warm.
   */
  async warmUp(): Promise<boolean> {
    const event: EngineWarmUpEvent = { warmup: true };
    const invoked = await this.props.lambda.send(
      new InvokeCommand({ FunctionName: this.props.functionName, InvocationType: 'Event', Payload: JSON.stringify(event) }),
    );
    if (invoked.StatusCode !== 202) throw new Error(`Lambda queued no warm-up event (status ${invoked.StatusCode})`);
    return true;
  }

  private cancelKey(jobRef: string): string {
    return `${this.inputPrefix}${jobRef}.canceled`;
  }

  private async put(key: string, body: string): Promise<void> {
    await this.props.s3.send(new PutObjectCommand({ Bucket: this.props.bucket, Key: key, Body: body, ContentType: 'application/json' }));
  }
}
