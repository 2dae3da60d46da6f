import type { APIGatewayProxyResult } from 'aws-lambda';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import { openApiDocument } from '../../contract/openapi';
import { readGatewayConfig } from '../../lambda/src/config';
import { awsGateway, BASE_ENV, mocks, resetAws, table, refOf } from './support/aws-fakes';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const LCM_MODEL = { width: 512, height: 512, scheduler: 'lcm', steps: 4, guidance_scale: 8.5, accepts_init_image: true, accepts_negative_prompt: false };
const PLAIN_MODEL = { ...LCM_MODEL, scheduler: 'pndm', steps: 25, guidance_scale: 7.5, accepts_init_image: false, accepts_negative_prompt: true };
const validate = openApiResponseValidator(openApiDocument());
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const quotaUsed = () => [...table.keys()].filter((key) => key.startsWith('quota#')).length;

beforeEach(() => resetAws());

describe('the deployed model, as the configuration states it', () => {
  it('is reported in /v1/status so the page can follow its defaults', async () => {
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 0, DesiredInstanceCount: 0 }],
    } as never);
    const { gateway } = awsGateway({ MODEL_INFO: JSON.stringify(LCM_MODEL) });
    const result = await gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(result.statusCode).toBe(200);
    expect(body(result).model).toEqual(LCM_MODEL);
    expect(validate('GET', '/v1/status', 200, body(result))).toEqual([]);
  });

  it('refuses a negative prompt for a distilled model before any quota is taken or the backend is called', async () => {
    const { gateway } = awsGateway({ MODEL_INFO: JSON.stringify(LCM_MODEL) });
    const result = await gateway(postImages({ prompt: 'a cat', negative_prompt: 'blurry' }));
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toMatchObject({ code: 'invalid_request', field: 'negative_prompt' });
    expect(quotaUsed()).toBe(0);
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(0);
    expect((await gateway(postImages({ prompt: 'a cat', negative_prompt: '' }))).statusCode).toBe(202);
  });

  it('refuses an init image for a model without a VAE encoder, and keeps no init image in the job', async () => {
    const { gateway } = awsGateway({ MODEL_INFO: JSON.stringify(PLAIN_MODEL) });
    const refused = await gateway(postImages({ prompt: 'a cat', init_image: 'iVBORw0KGgo=' }));
    expect(refused.statusCode).toBe(400);
    expect(body(refused).error.field).toBe('init_image');

    const accepting = awsGateway({ MODEL_INFO: JSON.stringify(LCM_MODEL) }).gateway;
    const accepted = body(await accepting(postImages({ prompt: 'a cat', init_image: 'iVBORw0KGgo=', strength: 0.6 })));
    expect(accepted.parameters).toEqual({ prompt: 'a cat', strength: 0.6 });
    expect((table.get(`job#${refOf(accepted.id)}`) as any).job.parameters.init_image).toBeUndefined();
  });

  it('fails the cold start on a MODEL_INFO that is not the contract\'s shape, naming it', () => {
    expect(() => readGatewayConfig({ ...BASE_ENV, MODEL_INFO: '{"width": 512}' })).toThrow(/MODEL_INFO/);
    expect(() => readGatewayConfig({ ...BASE_ENV, MODEL_INFO: 'not json' })).toThrow(/MODEL_INFO must be JSON/);
  });
});
