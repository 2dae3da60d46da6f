import { APIGatewayClient, GetStageCommand, UpdateStageCommand } from '@aws-sdk/client-api-gateway';
import { LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { methodSettingPath, stopSpending } from '../../lambda/budget-action/handler';

const apiGateway = mockClient(APIGatewayClient);
const lambda = mockClient(LambdaClient);
const clients = { apiGateway: new APIGatewayClient({}), lambda: new LambdaClient({}) };
beforeEach(() => {
  apiGateway.reset();
  lambda.reset();
});

describe('budget action', () => {
  test('method setting keys become patch paths with escaped slashes', () => {
    expect(methodSettingPath('*/*')).toBe('/*/*');
    expect(methodSettingPath('v1/images/POST')).toBe('/~1v1~1images/POST');
  });

  test('throttles the stage default and every method with its own limit to zero, and leaves functions alone without an engine', async () => {
    apiGateway.on(GetStageCommand, { restApiId: 'abc123', stageName: 'prod' }).resolves({
      methodSettings: { 'v1/images/POST': { throttlingRateLimit: 1, throttlingBurstLimit: 2 } },
    });
    apiGateway.on(UpdateStageCommand).resolves({});
    const done = await stopSpending(clients, { restApiId: 'abc123', stageName: 'prod' });
    const [update] = apiGateway.commandCalls(UpdateStageCommand);
    expect(update.args[0].input).toEqual({
      restApiId: 'abc123',
      stageName: 'prod',
      patchOperations: [
        { op: 'replace', path: '/*/*/throttling/rateLimit', value: '0' },
        { op: 'replace', path: '/*/*/throttling/burstLimit', value: '0' },
        { op: 'replace', path: '/~1v1~1images/POST/throttling/rateLimit', value: '0' },
        { op: 'replace', path: '/~1v1~1images/POST/throttling/burstLimit', value: '0' },
      ],
    });
    expect(lambda.commandCalls(PutFunctionConcurrencyCommand)).toHaveLength(0);
    expect(done).toEqual(['throttled */* of stage prod to 0', 'throttled v1/images/POST of stage prod to 0']);
  });

  test('in lambda mode also sets the engine function\'s reserved concurrency to zero', async () => {
    apiGateway.on(GetStageCommand).resolves({ methodSettings: { '*/*': { throttlingRateLimit: 10 } } });
    apiGateway.on(UpdateStageCommand).resolves({});
    lambda.on(PutFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
    const done = await stopSpending(clients, { restApiId: 'abc123', stageName: 'prod', engineFunctionName: 'sd-engine' });
    expect(apiGateway.commandCalls(UpdateStageCommand)[0].args[0].input.patchOperations).toHaveLength(2);
    expect(lambda.commandCalls(PutFunctionConcurrencyCommand)[0].args[0].input).toEqual({ FunctionName: 'sd-engine', ReservedConcurrentExecutions: 0 });
    expect(done).toContain('set the reserved concurrency of sd-engine to 0');
  });

  test('a failed throttle is not hidden: the error fails the invocation, which Lambda logs and retries', async () => {
    apiGateway.on(GetStageCommand).resolves({});
    apiGateway.on(UpdateStageCommand).rejects(new Error('TooManyRequestsException'));
    await expect(stopSpending(clients, { restApiId: 'abc123', stageName: 'prod', engineFunctionName: 'sd-engine' })).rejects.toThrow(/TooManyRequests/);
    expect(lambda.commandCalls(PutFunctionConcurrencyCommand)).toHaveLength(0);
  });
});
