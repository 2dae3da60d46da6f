import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../contract/openapi';
import { createJobId } from '../../lambda/src/jobs/job-id';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { awsGateway, putObject, resetAws, SIGNING_KEY, table, refOf } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const validate = openApiResponseValidator(openApiDocument());
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const cancel = (id: string) => apiEvent({ method: 'DELETE', path: `/v1/images/${id}` });
const poll = (id: string) => apiEvent({ method: 'GET', path: `/v1/images/${id}` });
const quotaCount = (prefix: string) =>
  [...table.entries()].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, item]) => sum + Number((item as { count?: number }).count ?? 0), 0);

beforeEach(() => resetAws());

async function submitted(gateway: ReturnType<typeof awsGateway>['gateway'], request: object = { prompt: 'a red fox', num_images: 2 }) {
  const job = body(await gateway(postImages(request)));
  const item = table.get(`job#${refOf(job.id)}`) as any;
  return { id: job.id as string, output: item.job.backend_ref.output_location as string };
}

describe('DELETE /v1/images/{id} on SageMaker async', () => {
  it('cancels a queued job, answers it, and discards the result when it arrives', async () => {
    const { gateway } = awsGateway();
    const { id, output } = await submitted(gateway);
    const result = await gateway(cancel(id));
    expect(result.statusCode).toBe(200);
    expect(validate('DELETE', '/v1/images/{id}', 200, body(result))).toEqual([]);
    expect(body(result)).toMatchObject({ id, status: 'canceled', completed_at: expect.any(String) });

    putObject(output, JSON.stringify(await engineResponse(2, 64)));
    const later = body(await gateway(poll(id)));
    expect(later.status).toBe('canceled');
    expect(later.images).toBeUndefined();
  });

  it('keeps the images on the quota: SageMaker has taken the job and its GPU time is spent', async () => {
    const { gateway } = awsGateway();
    const { id } = await submitted(gateway);
    const before = quotaCount('quota#ip#');
    await gateway(cancel(id));
    expect(quotaCount('quota#ip#')).toBe(before);
    expect(before).toBe(2);
  });

  it('is harmless twice: 200 with the same job', async () => {
    const { gateway } = awsGateway();
    const { id } = await submitted(gateway);
    const first = body(await gateway(cancel(id)));
    const second = await gateway(cancel(id));
    expect(second.statusCode).toBe(200);
    expect(body(second)).toEqual(first);
  });

  it('answers 409 job_finished for a job that already succeeded, and leaves it as it was', async () => {
    const { gateway } = awsGateway();
    const { id, output } = await submitted(gateway);
    putObject(output, JSON.stringify(await engineResponse(2, 64)));
    expect(body(await gateway(poll(id))).status).toBe('succeeded');
    const result = await gateway(cancel(id));
    expect(result.statusCode).toBe(409);
    expect(body(result).error).toMatchObject({ code: 'job_finished' });
    expect(validate('DELETE', '/v1/images/{id}', 409, body(result))).toEqual([]);
    expect(body(await gateway(poll(id))).status).toBe('succeeded');
  });

  it('answers 404 for an unknown or tampered id and changes nothing', async () => {
    const { gateway } = awsGateway();
    const { id } = await submitted(gateway);
    const unknown = createJobId(SIGNING_KEY);
    const tampered = (id[0] === 'A' ? 'B' : 'A') + id.slice(1);
    for (const candidate of [unknown, tampered, 'not-an-id']) {
      const result = await gateway(cancel(candidate));
      expect(result.statusCode).toBe(404);
      expect(body(result).error.code).toBe('not_found');
    }
    expect(body(await gateway(poll(id))).status).toBe('queued');
  });

  it('lets exactly one of a cancel and a completion win when they race', async () => {
    for (let round = 0; round < 10; round++) {
      resetAws();
      const { gateway } = awsGateway();
      const { id, output } = await submitted(gateway);
      putObject(output, JSON.stringify(await engineResponse(2, 64)));
      const [polled, canceled] = await Promise.all([gateway(poll(id)), gateway(cancel(id))]);
      const stored = (table.get(`job#${refOf(id)}`) as any).job.status;
      expect(['succeeded', 'canceled']).toContain(stored);
      if (stored === 'canceled') {
        expect(canceled.statusCode).toBe(200);
        expect(body(polled).status).toBe('canceled');
      } else {
        expect(canceled.statusCode).toBe(409);
        expect(body(polled).status).toBe('succeeded');
      }
      // Counted once either way: the async backend never gives GPU-spent images back.
      expect(quotaCount('quota#ip#')).toBe(2);
      expect(body(await gateway(poll(id))).status).toBe(stored);
    }
  });

  it('answers the page preflight with DELETE among the allowed methods', async () => {
    const { gateway } = awsGateway();
    const { id } = await submitted(gateway);
    const result = await gateway(
      apiEvent({ method: 'OPTIONS', path: `/v1/images/${id}`, headers: { Origin: 'https://site.example.com', 'Access-Control-Request-Method': 'DELETE' } }),
    );
    expect(result.statusCode).toBe(204);
    expect(result.headers!['Access-Control-Allow-Methods']).toContain('DELETE');
  });
});

describe('expiry', () => {
  it('reads expired, with no image URLs, once the results are past retention', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const { gateway } = awsGateway({}, () => now);
    const { id, output } = await submitted(gateway);
    putObject(output, JSON.stringify(await engineResponse(2, 64)));
    expect(body(await gateway(poll(id))).images).toHaveLength(2);
    now = new Date(now.getTime() + (JOB_RETENTION.resultsSeconds + 1) * 1000);
    const expired = body(await gateway(poll(id)));
    expect(expired.status).toBe('expired');
    expect(expired.images).toBeUndefined();
  });

  it('never hands out a URL that outlives the retention of its image', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const { gateway } = awsGateway({}, () => now);
    const { id, output } = await submitted(gateway);
    putObject(output, JSON.stringify(await engineResponse(1, 64)));
    expect(body(await gateway(poll(id))).status).toBe('succeeded');
    const created = Date.parse(body(await gateway(poll(id))).created_at);
    now = new Date(created + (JOB_RETENTION.resultsSeconds - 120) * 1000);
    const [image] = body(await gateway(poll(id))).images;
    expect(Number(new URL(image.url).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(120);
  });

  it('cannot cancel an expired job: 409 job_finished', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const { gateway } = awsGateway({}, () => now);
    const { id } = await submitted(gateway);
    now = new Date(now.getTime() + (JOB_RETENTION.pendingSeconds + 1) * 1000);
    const result = await gateway(cancel(id));
    expect(result.statusCode).toBe(409);
    expect(body(result).error.message).toMatch(/expired/);
  });
});
