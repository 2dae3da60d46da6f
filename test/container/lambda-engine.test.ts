import sharp from 'sharp';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import type { EngineInvocation } from '../../contract/engine-invocation';
import { generationResponseSchema } from '../../contract/engine-response';
import { failureOf, warmUpOutcome } from '../../lambda/engine-failure/failure-body';
import { runInvocation, TIMEOUT_MARGIN_MS, type InvocationDependencies } from '../../container/src/lambda/run-invocation';
import { EngineService } from '../../container/src/server/engine-service';
import { TINY_SD } from '../support/oracle';

process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A bucket in memory behind the real S3 client, as the function's calls would find it. */
const objects = new Map<string, Buffer>();
const s3Mock = mockClient(S3Client);
function fakeS3(): void {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    objects.set(`${input.Bucket}/${input.Key}`, Buffer.from(input.Body as string));
    return {};
  });
  s3Mock.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (!body) throw new NoSuchKey({ message: 'missing', $metadata: {} });
    return { Body: sdkStreamMixin(Readable.from([body])) };
  });
  // No stored checksum, as for an object copied without one.
  s3Mock.on(HeadObjectCommand).resolves({});
  s3Mock.on(ListObjectsV2Command).callsFake(async (input: { Bucket: string; Prefix: string }) => ({
    Contents: [...objects.keys()]
      .filter((key) => key.startsWith(`${input.Bucket}/${input.Prefix}`))
      .map((key) => ({ Key: key.slice(input.Bucket.length + 1), Size: objects.get(key)!.length })),
    IsTruncated: false,
  }));
}
const text = (uri: string) => objects.get(uri.replace('s3://', ''))?.toString('utf8');
const put = (uri: string, value: unknown) => objects.set(uri.replace('s3://', ''), Buffer.from(JSON.stringify(value)));

function invocation(id: string): EngineInvocation {
  return {
    job_ref: id,
    input_location: `s3://jobs/inputs/${id}.json`,
    output_location: `s3://jobs/outputs/${id}.out`,
    failure_location: `s3://jobs/failures/${id}-error.out`,
    progress_location: `s3://jobs/outputs/${id}.progress.json`,
    cancel_location: `s3://jobs/inputs/${id}.canceled`,
  };
}

let engine: EngineService;
beforeAll(async () => {
  engine = await EngineService.load({ modelDir: TINY_SD, executionProvider: 'cpu', maxQueuedRequests: 0, memory: 'bounded' });
}, 60_000);
afterAll(() => engine?.close(0));
beforeEach(() => {
  objects.clear();
  fakeS3();
});

const deps = (overrides: Partial<InvocationDependencies> = {}): InvocationDependencies => ({
  s3: new S3Client({}),
  engine: async () => engine,
  remainingMs: () => 900_000,
  log: () => undefined,
  ...overrides,
});

describe('the Lambda engine function', () => {
  it('reads the request, writes the engine answer where the gateway looks, and its progress meanwhile', async () => {
    const event = invocation('job-ok');
    put(event.input_location, { prompt: 'a red circle', width: 64, height: 64, steps: 3, num_images: 2, seed: 7 });
    expect(await runInvocation(event, deps())).toBe('succeeded');
    const answer = generationResponseSchema.parse(JSON.parse(text(event.output_location)!));
    expect(answer.images.map((image) => image.seed)).toEqual([7, 8]);
    expect(answer.parameters).toMatchObject({ steps: 3, num_images: 2, width: 64, height: 64 });
    expect(JSON.parse(text(event.progress_location)!)).toMatchObject({ started_at: expect.any(String) });
    expect(text(event.failure_location)).toBeUndefined();
  });

  it('makes the images of a request in bounded memory with the same seeds and pixels as the batched path', async () => {
    const batched = await EngineService.load({ modelDir: TINY_SD, executionProvider: 'cpu', maxQueuedRequests: 0 });
    try {
      const request = { prompt: 'a blue square', width: 64, height: 64, steps: 2, num_images: 2, seed: 11 };
      const together = await batched.invoke({ request, signal: new AbortController().signal });
      const oneByOne = await engine.invoke({ request, signal: new AbortController().signal });
      expect(oneByOne.response.images.map((image) => image.seed)).toEqual(together.response.images.map((image) => image.seed));
      // With several onnxruntime threads a batch of two and two batches of one sum in other orders
      // (float rounding, ~1e-7), which can move a pixel by one level of 255; never more.
      for (const [index, image] of oneByOne.response.images.entries()) {
        const [a, b] = await Promise.all(
          [image, together.response.images[index]].map((entry) => sharp(Buffer.from((entry as { data: string }).data, 'base64')).raw().toBuffer()),
        );
        expect(a.length).toBe(b.length);
        let largest = 0;
        for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
        expect(largest).toBeLessThanOrEqual(1);
      }
    } finally {
      await batched.close(0);
    }
  });

  it('never generates a job canceled before it started', async () => {
    const event = invocation('job-canceled');
    put(event.input_location, { prompt: 'x', width: 64, height: 64, steps: 2 });
    put(event.cancel_location, { canceled_at: new Date().toISOString() });
    const loads = jest.fn(async () => engine);
    expect(await runInvocation(event, deps({ engine: loads }))).toBe('canceled');
    expect(loads).not.toHaveBeenCalled();
    expect(text(event.output_location)).toBeUndefined();
    // Progress is written before the marker is read: the gateway's cancel relies on that order.
    expect(text(event.progress_location)).toBeDefined();
  });

  it('fails the job, naming the field, for a request over what the function can hold', async () => {
    const event = invocation('job-large');
    put(event.input_location, { prompt: 'x', width: 768, height: 768 });
    expect(await runInvocation(event, deps())).toBe('failed');
    expect(JSON.parse(text(event.failure_location)!)).toEqual({ error: { code: 'invalid_request', message: expect.stringMatching(/262144 pixels/), field: 'width' } });
  });

  it('fails the job with a clear error when the model folder cannot be loaded', async () => {
    const event = invocation('job-bad-model');
    put(event.input_location, { prompt: 'x', width: 64, height: 64 });
    const broken = () => EngineService.load({ modelDir: join(TINY_SD, 'no-such-folder'), executionProvider: 'cpu', maxQueuedRequests: 0 });
    expect(await runInvocation(event, deps({ engine: broken }))).toBe('failed');
    expect(JSON.parse(text(event.failure_location)!).error).toEqual({ code: 'internal_error', message: 'the image generator could not load its model' });
  });

  it('stops before Lambda\'s timeout and says so, instead of being killed mid-step', async () => {
    const event = invocation('job-slow');
    put(event.input_location, { prompt: 'x', width: 256, height: 256, steps: 50 });
    expect(await runInvocation(event, deps({ remainingMs: () => TIMEOUT_MARGIN_MS + 50 }))).toBe('failed');
    expect(JSON.parse(text(event.failure_location)!).error).toEqual({ code: 'timeout', message: 'the generation ran past the time limit of the image generator' });
    expect(text(event.output_location)).toBeUndefined();
  });

  it('loads the engine for a warm-up event, and neither generates nor writes anything', async () => {
    const invoke = jest.spyOn(engine, 'invoke');
    let loads = 0;
    const outcome = await runInvocation({ warmup: true }, deps({ engine: async () => ((loads += 1), engine) }));
    expect(outcome).toBe('warmed');
    expect(loads).toBe(1);
    expect(invoke).not.toHaveBeenCalled();
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    invoke.mockRestore();
  });

  it('runs the warm-up step, at the model\'s size, for a warm-up event on an engine loaded without it, and only once', async () => {
    const cold = await EngineService.load({ modelDir: TINY_SD, executionProvider: 'cpu', maxQueuedRequests: 0, memory: 'bounded', warmUp: false });
    try {
      const generate = jest.spyOn(cold.pipeline, 'generate');
      expect(await runInvocation({ warmup: true }, deps({ engine: async () => cold }))).toBe('warmed');
      const { width, height } = cold.pipeline.defaults;
      expect(generate.mock.calls.at(-1)![0]).toMatchObject({ steps: 1, width, height });
      const calls = generate.mock.calls.length;
      expect(await runInvocation({ warmup: true }, deps({ engine: async () => cold }))).toBe('warmed');
      expect(generate.mock.calls).toHaveLength(calls);
    } finally {
      await cold.close(0);
    }
  });

  it('fails a warm-up whose model cannot be loaded, so Lambda logs it', async () => {
    const broken = deps({ engine: () => Promise.reject(new Error('model folder is missing unet/model.onnx')) });
    await expect(runInvocation({ warmup: true }, broken)).rejects.toThrow('unet/model.onnx');
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('refuses an event that is not an engine invocation', async () => {
    await expect(runInvocation({ job_id: 'x' }, deps())).rejects.toThrow(/not an engine invocation/);
  });

  it('stages the model from S3 once per environment and serves through the real handler module', async () => {
    for (const file of filesUnder(TINY_SD)) objects.set(`models/tiny/${relative(TINY_SD, file)}`, readFileSync(file));
    process.env.MODEL_S3_URI = 's3://models/tiny/';
    process.env.MODEL_STAGING_DIR = mkdtempSync(join(tmpdir(), 'staged-model-'));
    const { handler } = await import('../../container/src/lambda/handler');
    // The visitor's warm-up stages and loads the model, and writes nothing.
    expect(await handler({ warmup: true }, { getRemainingTimeInMillis: () => 900_000 })).toEqual({ outcome: 'warmed' });
    expect(readdirSync(process.env.MODEL_STAGING_DIR).sort()).toEqual(readdirSync(TINY_SD).sort());
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    const event = invocation('job-handler');
    put(event.input_location, { prompt: 'a green triangle', width: 64, height: 64, steps: 2 });
    expect(await handler(event, { getRemainingTimeInMillis: () => 900_000 })).toEqual({ outcome: 'succeeded' });
    const gets = s3Mock.commandCalls(GetObjectCommand).length;
    const second = invocation('job-handler-2');
    put(second.input_location, { prompt: 'again', width: 64, height: 64, steps: 2 });
    expect(await handler(second, { getRemainingTimeInMillis: () => 900_000 })).toEqual({ outcome: 'succeeded' });
    // The second run reads its request, its cancel marker twice at most, and no model file.
    expect(s3Mock.commandCalls(GetObjectCommand).length - gets).toBeLessThanOrEqual(3);
    expect(readdirSync(process.env.MODEL_STAGING_DIR).sort()).toEqual(readdirSync(TINY_SD).sort());
    rmSync(process.env.MODEL_STAGING_DIR, { recursive: true, force: true });
    delete process.env.MODEL_S3_URI;
    delete process.env.MODEL_STAGING_DIR;
  }, 60_000);
});

describe('the on-failure recorder', () => {
  const payload = invocation('job-x');
  it.each([
    [{ requestContext: { condition: 'RetriesExhausted' }, responsePayload: { errorMessage: '2026-12-02T10:00:00Z abc Task timed out after 900.00 seconds' } }, 'timeout', /time limit/],
    [{ requestContext: { condition: 'RetriesExhausted' }, responsePayload: { errorType: 'Runtime.ExitError', errorMessage: 'RequestId: abc Error: Runtime exited with error: signal: killed' } }, 'internal_error', /out of memory/],
    [{ requestContext: { condition: 'EventAgeExceeded' } }, 'timeout', /waited too long/],
    [{ requestContext: { condition: 'RetriesExhausted' }, responsePayload: { errorType: 'TypeError', errorMessage: 'x is undefined' } }, 'internal_error', /stopped unexpectedly/],
  ])('turns %j into a public failure', (record, code, message) => {
    const failure = failureOf({ ...record, requestPayload: payload });
    expect(failure?.invocation.failure_location).toBe(payload.failure_location);
    expect(failure?.body.error.code).toBe(code);
    expect(failure?.body.error.message).toMatch(message);
  });

  it('ignores a record that is not about an engine invocation', () => {
    expect(failureOf({ requestPayload: { hello: 1 } })).toBeUndefined();
    expect(warmUpOutcome({ requestPayload: { hello: 1 } })).toBeUndefined();
    expect(warmUpOutcome({ requestPayload: payload, requestContext: { condition: 'EventAgeExceeded' } })).toBeUndefined();
  });

  it('tells a warm-up that waited past its age (keep-warm behind a concurrency of zero) from one that failed to load', () => {
    expect(failureOf({ requestPayload: { warmup: true } })).toBeUndefined();
    expect(warmUpOutcome({ requestPayload: { warmup: true }, requestContext: { condition: 'EventAgeExceeded' } })).toBe('dropped');
    expect(warmUpOutcome({ requestPayload: { warmup: true }, requestContext: { condition: 'RetriesExhausted' }, responsePayload: { errorMessage: 'no model' } })).toBe('failed');
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
