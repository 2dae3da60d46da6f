/**
 * Images the engine's safety checker withheld, through the gateway (SageMaker async backend): the
 * job still succeeds, nothing is stored for a withheld image, the answer says `{seed, withheld}`
 * and conforms to the OpenAPI document, and ImagesWithheld is counted once.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, bucket, captureStdout, putObject, refOf, resetAws, table } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const validate = openApiResponseValidator(openApiDocument());

function body(result: APIGatewayProxyResult): any {
  return JSON.parse(result.body);
}

beforeEach(() => resetAws());

async function submit(gateway: ReturnType<typeof awsGateway>['gateway'], numImages: number) {
  const job = body(await gateway(postImages({ prompt: 'a red fox', num_images: numImages })));
  const item = table.get(`job#${refOf(job.id)}`) as any;
  return { id: job.id as string, output: item.job.backend_ref.output_location as string };
}

function storedImages(id: string): string[] {
  return [...bucket.keys()].filter((key) => key.startsWith(`jobs-bucket/images/${refOf(id)}/`));
}

it('stores only the returned images and answers the withheld one by seed, in batch order', async () => {
  const { gateway } = awsGateway();
  const { id, output } = await submit(gateway, 2);
  const response = await engineResponse(2, 64);
  putObject(output, JSON.stringify({ ...response, images: [{ seed: 1000, withheld: 'safety' }, response.images[1]] }));
  const { result, lines } = await captureStdout(() => gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` })));
  expect(validate('GET', '/v1/images/{id}', 200, body(result))).toEqual([]);
  expect(body(result)).toMatchObject({
    status: 'succeeded',
    images: [{ seed: 1000, withheld: 'safety' }, { seed: 1001, url: expect.stringContaining(`/images/${refOf(id)}/1.png`), format: 'png' }],
  });
  expect(body(result).images[0]).toEqual({ seed: 1000, withheld: 'safety' });
  expect(storedImages(id)).toEqual([`jobs-bucket/images/${refOf(id)}/1.png`]);
  const metrics = lines.map((line) => JSON.parse(line)).filter((entry) => 'ImagesCompleted' in entry);
  expect(metrics).toEqual([expect.objectContaining({ ImagesCompleted: 2, ImagesWithheld: 1, Service: 'gateway' })]);
});

it('a job whose every image was withheld still succeeds, with nothing stored', async () => {
  const { gateway } = awsGateway();
  const { id, output } = await submit(gateway, 1);
  putObject(output, JSON.stringify({ ...(await engineResponse(1, 64)), images: [{ seed: 1000, withheld: 'safety' }] }));
  const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
  expect(validate('GET', '/v1/images/{id}', 200, body(result))).toEqual([]);
  expect(body(result)).toMatchObject({ status: 'succeeded', images: [{ seed: 1000, withheld: 'safety' }] });
  expect(storedImages(id)).toEqual([]);
});
