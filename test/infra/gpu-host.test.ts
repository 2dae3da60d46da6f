import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { GPU_HOST, gpuHostSupports, instanceFamily } from '../../lib/config/gpu-host';
import { InferenceEndpoint } from '../../lib/constructs/inference-endpoint';
import { ModelData } from '../../lib/constructs/model-data';

describe('GPU host facts', () => {
  test('backend.instanceType is checked against the pinned host image\'s families at synth', () => {
    for (const instanceType of ['ml.g4dn.xlarge', 'ml.g5.2xlarge', 'ml.g6.xlarge', 'ml.g6e.xlarge']) {
      expect(parseDeploymentConfig({ backend: { instanceType, hourlyPriceUsd: 1 } }).backend.instanceType).toBe(instanceType);
    }
    expect(() => parseDeploymentConfig({ backend: { instanceType: 'ml.p3.2xlarge', hourlyPriceUsd: 3 } })).toThrow(
      /serverlessDiffusion\.backend\.instanceType: ml\.p3\.2xlarge is not in an instance family the pinned GPU host image al2-ami-sagemaker-inference-gpu-3-1 supports: ml\.g4dn\.\*, ml\.g5\.\*, ml\.g6\.\*, ml\.g6e\.\*/,
    );
    // A CPU type cannot run on a GPU host image either.
    expect(() => parseDeploymentConfig({ backend: { instanceType: 'ml.c5.xlarge' } })).toThrow(/backend\.instanceType: ml\.c5\.xlarge is not/);
  });

  test('modes without a GPU instance ignore instanceType', () => {
    expect(parseDeploymentConfig({ backend: { mode: 'serverless', instanceType: 'ml.c5.xlarge' } }).backend.mode).toBe('serverless');
  });

  test('families are read from the instance type, not matched as prefixes', () => {
    expect(instanceFamily('ml.g6e.12xlarge')).toBe('g6e');
    expect(gpuHostSupports('ml.g6e.12xlarge')).toBe(true);
    expect(gpuHostSupports('ml.g4ad.xlarge')).toBe(false);
    expect(gpuHostSupports('g5.xlarge')).toBe(false);
    expect(GPU_HOST.instanceFamilies).toContain(instanceFamily(parseDeploymentConfig({}).backend.instanceType));
  });

  test('the endpoint construct refuses an instance type its host image does not run on', () => {
    const stack = new Stack();
    const modelData = new ModelData(stack, 'Model', {
      source: { kind: 's3', s3Uri: 's3://my-models/sd/' },
      accessLogs: s3.Bucket.fromBucketName(stack, 'Logs', 'logs'),
    });
    const jobsBucket = s3.Bucket.fromBucketName(stack, 'Jobs', 'jobs');
    expect(
      () =>
        new InferenceEndpoint(stack, 'Engine', {
          endpointName: 'engine',
          modelData,
          variant: { kind: 'async', instanceType: 'ml.inf2.xlarge', jobsBucket, inputPrefix: 'i/', outputPrefix: 'o/', failurePrefix: 'f/' },
        }),
    ).toThrow(/instanceType ml\.inf2\.xlarge is not one the host image al2-ami-sagemaker-inference-gpu-3-1 supports/);
  });
});
