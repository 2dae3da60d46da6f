import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ARM64_REFUSAL, LambdaEngine } from '../../lib/constructs/lambda-engine';

describe('the engine function on arm64', () => {
  test('is refused at synth, naming onnxruntime\'s abort and the issues', () => {
    const stack = new Stack(new App(), 'Arm');
    // No bucket or model: the refusal comes before the construct reads them, so no asset is built.
    const build = () =>
      new LambdaEngine(stack, 'Engine', {
        architecture: lambda.Architecture.ARM_64,
        timeout: Duration.minutes(5),
        reservedConcurrency: 1,
        logLevel: 'INFO',
      } as unknown as ConstructorParameters<typeof LambdaEngine>[2]);
    expect(build).toThrow(`backend.lambdaArchitecture ${ARM64_REFUSAL}`);
    expect(ARM64_REFUSAL).toMatch(/onnxruntime\/issues\/10038.*onnxruntime\/issues\/15650.*cpuinfo\/issues\/143/);
  });
});
