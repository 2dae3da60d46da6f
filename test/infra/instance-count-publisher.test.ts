import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

const sagemaker = mockClient(SageMakerClient);
let publisher: typeof import('../../lambda/instance-count/handler');

beforeAll(async () => {
  process.env.ENDPOINT_NAME = 'serverless-diffusion';
  publisher = await import('../../lambda/instance-count/handler');
});
beforeEach(() => sagemaker.reset());
afterAll(() => {
  delete process.env.ENDPOINT_NAME;
});

/** Runs `run` and returns the EMF records it wrote to stdout. */
async function emfOf(run: () => Promise<unknown>): Promise<Array<Record<string, any>>> {
  const lines: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = original;
  }
  return lines.map((line) => JSON.parse(line)).filter((record) => record._aws);
}

describe('instance-count publisher', () => {
  test('writes EndpointInstances with the EndpointName dimension only', async () => {
    sagemaker.on(DescribeEndpointCommand, { EndpointName: 'serverless-diffusion' }).resolves({
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 2, DesiredInstanceCount: 3 }],
    });
    let result: unknown;
    const records = await emfOf(async () => {
      result = await publisher.handler();
    });
    expect(result).toEqual({ instances: 2 });
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'ServerlessDiffusion', Dimensions: [['EndpointName']], Metrics: [{ Name: 'EndpointInstances', Unit: 'Count' }] },
    ]);
    expect(record.EndpointName).toBe('serverless-diffusion');
    expect(record.EndpointInstances).toBe(2);
    expect(record).not.toHaveProperty('service');
    expect(sagemaker.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
  });

  test('counts zero for an endpoint scaled to zero or still launching', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointStatus: 'Updating',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 0 }, { VariantName: 'New' }],
    });
    const records = await emfOf(() => publisher.handler());
    expect(records.map((record) => record.EndpointInstances)).toEqual([0]);
  });

  test('publishes nothing when the endpoint cannot be described, and fails the run', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(Object.assign(new Error('Could not find endpoint'), { name: 'ValidationException' }));
    const records = await emfOf(() => expect(publisher.handler()).rejects.toThrow(/Could not find endpoint/));
    expect(records).toEqual([]);
  });

  test('refuses to start without ENDPOINT_NAME', () => {
    const saved = process.env.ENDPOINT_NAME;
    delete process.env.ENDPOINT_NAME;
    try {
      jest.isolateModules(() => {
        expect(() => require('../../lambda/instance-count/handler')).toThrow(/environment variable ENDPOINT_NAME is required/);
      });
    } finally {
      process.env.ENDPOINT_NAME = saved;
    }
  });
});
