import { InvokeCommand } from '@aws-sdk/client-lambda';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createJobId, JOB_ID_PATTERN, jobReference } from '../../lambda/src/jobs/job-id';
import { awsGateway, bucket, captureStdout, mocks, putObject, refOf, resetAws, SIGNING_KEY, table } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';

const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const poll = (id: string) => apiEvent({ method: 'GET', path: `/v1/images/${id}` });
const cancel = (id: string) => apiEvent({ method: 'DELETE', path: `/v1/images/${id}` });

beforeEach(() => resetAws());

/**
 * Everything the gateway leaves behind apart from its answers: log lines, S3 keys and bodies,
 * table items, and every request it sent to SageMaker and Lambda (their logs and SageMaker's SNS
 * notifications carry those).
 */
function traces(lines: readonly string[]): string[] {
  const calls = Object.values(mocks).flatMap((mock) =>
    mock.calls().map((call) => {
      const input = call.args[0].input as Record<string, unknown>;
      const payload = input.Payload instanceof Uint8Array ? Buffer.from(input.Payload).toString('utf8') : '';
      return JSON.stringify(input) + payload;
    }),
  );
  return [
    ...lines,
    ...[...bucket.entries()].map(([key, object]) => `${key} ${object.body.toString('utf8')}`),
    ...[...table.entries()].map(([key, item]) => `${key} ${JSON.stringify(item)}`),
    ...calls,
  ];
}

function expectNoId(ids: readonly string[], lines: readonly string[]): void {
  const leaks = traces(lines).filter((trace) => ids.some((id) => trace.includes(id)));
  expect(leaks).toEqual([]);
}

describe('job references', () => {
  it('are a stable HMAC of the id under the signing key, and never look like an id', () => {
    const id = createJobId(SIGNING_KEY);
    const ref = jobReference(id, SIGNING_KEY);
    expect(ref).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JOB_ID_PATTERN.test(ref)).toBe(false);
    expect(jobReference(id, SIGNING_KEY)).toBe(ref);
    expect(jobReference(id, `${SIGNING_KEY}x`)).not.toBe(ref);
    expect(jobReference(createJobId(SIGNING_KEY), SIGNING_KEY)).not.toBe(ref);
    // The id's own signature uses another label: the reference is not a piece of the id.
    expect(Buffer.from(id, 'base64url').toString('hex')).not.toContain(Buffer.from(ref, 'base64url').toString('hex'));
  });
});

describe('the raw job id never leaves the answer', () => {
  it('on SageMaker async: not in logs, S3 keys, the table or the inference id, through success, failure and cancel', async () => {
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG' });
    const { lines, result: ids } = await captureStdout(async () => {
      const made = [] as string[];
      for (const prompt of ['a red fox', 'a broken answer', 'canceled soon']) made.push(body(await gateway(postImages({ prompt }))).id);
      const [done, broken, canceled] = made;
      const outputOf = (id: string) => (table.get(`job#${refOf(id)}`) as any).job.backend_ref.output_location as string;
      putObject(outputOf(done), JSON.stringify(await engineResponse(1, 64)));
      putObject(outputOf(broken), 'not the engine JSON');
      expect(body(await gateway(poll(done))).status).toBe('succeeded');
      expect(body(await gateway(poll(broken))).status).toBe('failed');
      expect((await gateway(cancel(canceled))).statusCode).toBe(200);
      return made;
    });
    expectNoId(ids, lines);
    // Still one name to follow a job by: the log's job_ref is the inference id and the key.
    const refs = lines.filter((line) => line.includes('"job_ref"')).map((line) => JSON.parse(line).job_ref);
    expect(new Set(refs)).toEqual(new Set(ids.map(refOf)));
    expect(lines.some((line) => line.includes('engine output unreadable') && line.includes(refOf(ids[1])))).toBe(true);
  });

  it('on the lambda backend: not in the invocation, its S3 locations, progress or cancel marker', async () => {
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG', BACKEND_MODE: 'lambda', ENDPOINT_NAME: '', ENGINE_FUNCTION_NAME: 'sd-engine', ENGINE_TIMEOUT_SECONDS: '900' });
    const { lines, result: id } = await captureStdout(async () => {
      const submitted = body(await gateway(postImages({ prompt: 'a red circle' }))).id as string;
      const payload = JSON.parse(Buffer.from(mocks.lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as Uint8Array).toString('utf8'));
      expect(payload.job_ref).toBe(refOf(submitted));
      putObject(payload.progress_location, JSON.stringify({ started_at: new Date().toISOString(), step: 1, steps: 4 }));
      expect(body(await gateway(poll(submitted))).progress).toMatchObject({ step: 1, steps: 4 });
      expect((await gateway(cancel(submitted))).statusCode).toBe(200);
      return submitted;
    });
    expect(bucket.has(`jobs-bucket/inputs/${refOf(id)}.canceled`)).toBe(true);
    expect(lines.filter((line) => line.includes(`"job_ref":"${refOf(id)}"`)).length).toBeGreaterThanOrEqual(3);
    expectNoId([id], lines);
  });

  it('on the synchronous SageMaker backend: not in the inference id or the image keys', async () => {
    const engine = await engineResponse(2, 64);
    mocks.runtime.on(InvokeEndpointCommand).resolves({ Body: Buffer.from(JSON.stringify(engine)) as never, ContentType: 'application/json' });
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG', BACKEND_MODE: 'serverless' });
    const { lines, result } = await captureStdout(() => gateway(postImages({ prompt: 'a small house', num_images: 2 })));
    const job = body(result);
    expect(job.status).toBe('succeeded');
    expect(job.images.map((image: { url: string }) => new URL(image.url).pathname)).toEqual([0, 1].map((index) => `/images/${refOf(job.id)}/${index}.png`));
    expect(lines.some((line) => line.includes(`"job_ref":"${refOf(job.id)}"`))).toBe(true);
    expectNoId([job.id], lines);
  });
});
