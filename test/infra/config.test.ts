import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { cidrsByVersion, cidrVersion } from '../../lib/config/cidr';
import { deploymentConfigFromContext, mergeContext } from '../../lib/config/context';
import { DeploymentConfigError, parseDeploymentConfig } from '../../lib/config/deployment-config';
import { estimateLambdaEngine } from '../../lib/config/lambda-engine-estimate';
import { folderBytes } from '../../lib/config/model-folder';
import { REPO_ROOT } from '../../lib/paths';
import { cdkJsonContext } from './support/synth';

/** A model's info as the engine reports it on /ping. */
const MODEL_INFO = { width: 512, height: 512, scheduler: 'lcm', steps: 4, guidance_scale: 1, accepts_init_image: true, accepts_negative_prompt: true };
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555';

describe('defaults', () => {
  test('an empty configuration deploys the async GPU backend with the documented defaults', () => {
    const config = parseDeploymentConfig({});
    expect(config).toMatchObject({
      appName: 'ServerlessDiffusion',
      region: 'us-east-1',
      endpointName: 'serverless-diffusion',
      backend: {
        mode: 'async',
        instanceType: 'ml.g4dn.xlarge',
        maxInstances: 1,
        idleMinutesBeforeScaleIn: 5,
        backlogPerInstanceTarget: 4,
        coldStartSeconds: 300,
        secondsPerImage: 8,
        hourlyPriceUsd: 0.736,
        serverlessMemoryMb: 6144,
        serverlessMaxConcurrency: 2,
        lambdaMemoryMb: 10240,
        lambdaArchitecture: 'x86_64',
        lambdaSecondsPerStep: 3.5,
        lambdaSecondsPerDecode: 5,
        // 4 images of 50 steps at 3.5 s would take longer than Lambda's 15 minutes allow.
        lambdaTimeoutSeconds: 900,
      },
      model: {
        kind: 'local',
        path: path.join(REPO_ROOT, 'test/fixtures/oracle/models/tiny-sd'),
        info: { width: 64, height: 64, scheduler: 'pndm', steps: 25, guidance_scale: 7.5, accepts_init_image: true, accepts_negative_prompt: true, content_filter: 'none' },
      },
      api: {
        allowedOrigins: [],
        throttlingRateLimit: 10,
        throttlingBurstLimit: 20,
        createImageThrottlingRateLimit: 2,
        createImageThrottlingBurstLimit: 5,
      },
      waf: {
        enabled: true,
        rateLimit: 100,
        createImageRateLimit: 10,
        rateWindowSeconds: 300,
        blockCidrs: [],
        allowCidrs: [],
        allowListOnly: false,
        managedRules: { anonymousIp: true, ipReputation: false, common: false, knownBadInputs: false },
      },
      quotas: { perIpPerDay: 20, globalPerDay: 500, gpuMinutesPerDay: 120 },
      jobs: { retentionDays: 2 },
      budget: { monthlyLimitUsd: 30 },
      alerts: { emails: [] },
      safety: { checker: 'model' },
      logLevel: 'INFO',
    });
    expect(config.domain).toBeUndefined();
    expect(config.account).toBeUndefined();
  });

  test('cdk.json spells out the same values as the defaults', () => {
    expect(deploymentConfigFromContext(new App({ context: cdkJsonContext() }).node)).toEqual(parseDeploymentConfig({}));
  });

  test('an S3 model source and an endpoint name follow the configuration', () => {
    const config = parseDeploymentConfig({ appName: 'MyImages', model: { s3Uri: 's3://my-models/sd-1.5/' } });
    expect(config.model).toEqual({ kind: 's3', s3Uri: 's3://my-models/sd-1.5/' });
    expect(config.endpointName).toBe('my-images');
  });

  test("a model in S3 may state its info, which the engine would report; it is checked by the contract's schema", () => {
    expect(parseDeploymentConfig({ model: { s3Uri: 's3://my-models/lcm/', info: MODEL_INFO } }).model).toEqual({
      kind: 's3',
      s3Uri: 's3://my-models/lcm/',
      info: MODEL_INFO,
    });
  });
});

describe('lambda mode', () => {
  test('waits by its own cold start and seconds per image, estimated for the model, unless they are set', () => {
    const local = parseDeploymentConfig({ backend: { mode: 'lambda' }, model: { localPath: 'test/fixtures/oracle/models/tiny-lcm' } });
    if (local.model.kind !== 'local') throw new Error('expected a local model');
    const estimate = estimateLambdaEngine({
      bytes: local.model.bytes,
      inlineWeightBytes: local.model.graphBytes,
      info: { ...local.model.info, decoder: 'full' },
      safetyChecker: false,
    });
    expect(local.backend).toMatchObject({ coldStartSeconds: Math.ceil(estimate.coldStartSeconds), secondsPerImage: Math.ceil(estimate.secondsPerImage) });
    expect(local.model.bytes).toBe(folderBytes(path.join(REPO_ROOT, 'test/fixtures/oracle/models/tiny-lcm')).bytes);
    // The test model keeps its weights inside its graphs: they count as inline.
    expect(local.model.graphBytes).toBeGreaterThan(local.model.bytes / 2);
    // In S3 without model.info: the measured export as the Hub ships it, a 4-step LCM model with the
    // tiny decoder, and a safety checker (a model in S3 may have one).
    const s3 = estimateLambdaEngine({ safetyChecker: true });
    expect(parseDeploymentConfig({ backend: { mode: 'lambda' }, model: { s3Uri: 's3://my-models/lcm/' } }).backend).toMatchObject({
      coldStartSeconds: Math.ceil(s3.coldStartSeconds),
      secondsPerImage: Math.ceil(s3.secondsPerImage),
    });
    expect(parseDeploymentConfig({ backend: { mode: 'lambda', coldStartSeconds: 45, secondsPerImage: 12 } }).backend).toMatchObject({
      coldStartSeconds: 45,
      secondsPerImage: 12,
    });
    // The GPU modes keep theirs.
    expect(parseDeploymentConfig({ backend: { mode: 'serverless' } }).backend).toMatchObject({ coldStartSeconds: 300, secondsPerImage: 8 });
  });

  test("sizes the function's timeout from the cold start and the longest request, within Lambda's 15 minutes", () => {
    const timeout = (backend: Record<string, unknown>) => parseDeploymentConfig({ backend: { mode: 'lambda', ...backend } }).backend.lambdaTimeoutSeconds;
    // (cold start + 4 images × (50 steps × seconds per step + decode)) × 1.2
    expect(timeout({ lambdaSecondsPerStep: 0.5, coldStartSeconds: 60 })).toBe(Math.ceil((60 + 4 * (50 * 0.5 + 5)) * 1.2));
    expect(timeout({ lambdaSecondsPerStep: 0.5, lambdaSecondsPerDecode: 2, coldStartSeconds: 30 })).toBe(Math.ceil((30 + 4 * (25 + 2)) * 1.2));
    expect(timeout({ coldStartSeconds: 60 })).toBe(900);
  });

  test('is chosen on the command line as -c serverlessDiffusion.backend.mode=lambda', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'serverlessDiffusion.backend.mode': 'lambda' } });
    expect(deploymentConfigFromContext(app.node).backend).toMatchObject({ mode: 'lambda', lambdaArchitecture: 'x86_64', lambdaMemoryMb: 10240 });
  });

  test('keeps the engine warm only when backend.keepWarm is set, pinging every 5 minutes daily by default', () => {
    expect(parseDeploymentConfig({ backend: { mode: 'lambda' } }).backend.keepWarm).toBeUndefined();
    expect(parseDeploymentConfig({ backend: { mode: 'lambda', keepWarm: { fromHourUtc: 8, toHourUtc: 20 } } }).backend.keepWarm).toEqual({
      fromHourUtc: 8,
      toHourUtc: 20,
      everyMinutes: 5,
      days: 'daily',
    });
    const allWeek = { fromHourUtc: 0, toHourUtc: 24, everyMinutes: 15, days: 'weekdays' } as const;
    expect(parseDeploymentConfig({ backend: { mode: 'lambda', keepWarm: allWeek } }).backend.keepWarm).toEqual(allWeek);
  });

  test.each(['async', 'serverless'])('refuses backend.keepWarm in %s mode, which has no engine function to ping', (mode) => {
    expect(() => parseDeploymentConfig({ backend: { mode, keepWarm: { fromHourUtc: 8, toHourUtc: 20 } } })).toThrow(
      `serverlessDiffusion.backend.keepWarm: is for backend.mode "lambda" only (it pings the engine function), not "${mode}"`,
    );
  });

  test('refuses a keep-warm window that does not end after it starts, within one UTC day', () => {
    for (const [fromHourUtc, toHourUtc] of [[20, 8], [8, 8]]) {
      expect(() => parseDeploymentConfig({ backend: { mode: 'lambda', keepWarm: { fromHourUtc, toHourUtc } } })).toThrow(
        `serverlessDiffusion.backend.keepWarm: fromHourUtc (${fromHourUtc}) must be before toHourUtc (${toHourUtc}): the window is UTC hours within one day`,
      );
    }
  });

  test('refuses arm64 at synth, naming the key and why', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'serverlessDiffusion.backend.mode': 'lambda', 'serverlessDiffusion.backend.lambdaArchitecture': 'arm64' } });
    expect(() => deploymentConfigFromContext(app.node)).toThrow(
      /serverlessDiffusion\.backend\.lambdaArchitecture: arm64 is refused: .*cpuinfo cannot read \/sys\/devices\/system\/cpu\/possible.*onnxruntime\/issues\/10038.*x86_64 works/,
    );
  });
});

describe('invalid configuration fails naming the key', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['unknown backend mode', { backend: { mode: 'gpu' } }, /serverlessDiffusion\.backend\.mode: /],
    ['misspelt key', { backend: { instanceTyp: 'ml.g5.xlarge' } }, /serverlessDiffusion\.backend\.instanceTyp: unknown key/],
    ['misspelt top-level key', { regoin: 'eu-west-1' }, /serverlessDiffusion\.regoin: unknown key/],
    ['unknown safety checker setting', { safety: { checker: 'strict' } }, /serverlessDiffusion\.safety\.checker: /],
    ['zero instances', { backend: { maxInstances: 0 } }, /serverlessDiffusion\.backend\.maxInstances: /],
    ['instance type without ml.', { backend: { instanceType: 'g4dn.xlarge' } }, /backend\.instanceType: expected a SageMaker instance type/],
    ['unpriced instance type', { backend: { instanceType: 'ml.p5.48xlarge' } }, /backend\.hourlyPriceUsd: is required for ml\.p5\.48xlarge/],
    ['external without URL', { backend: { mode: 'external' } }, /backend\.externalUrl: is required when backend\.mode is "external"/],
    ['plain http external URL', { backend: { mode: 'external', externalUrl: 'http://x.example.com' } }, /backend\.externalUrl: expected an https/],
    ['serverless memory step', { backend: { serverlessMemoryMb: 3000 } }, /backend\.serverlessMemoryMb: must be a multiple of 1024/],
    ['idle period of zero', { backend: { idleMinutesBeforeScaleIn: 0 } }, /backend\.idleMinutesBeforeScaleIn: /],
    ['S3 URI without trailing slash', { model: { s3Uri: 's3://my-models/sd' } }, /model\.s3Uri: expected s3:\/\/bucket\/prefix\//],
    ['two model sources', { model: { s3Uri: 's3://my-models/sd/', localPath: 'test' } }, /serverlessDiffusion\.model: set either s3Uri or localPath/],
    ['missing model folder', { model: { localPath: 'no/such/model' } }, /model\.localPath: no folder at .*no\/such\/model/],
    ['rate limit below WAF minimum', { waf: { rateLimit: 5 } }, /waf\.rateLimit: /],
    ['unsupported rate window', { waf: { rateWindowSeconds: 30 } }, /waf\.rateWindowSeconds: must be one of 60, 120, 300, 600/],
    ['bad IPv4 prefix', { waf: { blockCidrs: ['10.0.0.0/33'] } }, /waf\.blockCidrs\.0: expected an IPv4 or IPv6 CIDR/],
    ['not an address', { waf: { allowCidrs: ['office'] } }, /waf\.allowCidrs\.0: expected an IPv4 or IPv6 CIDR/],
    ['allow-list-only without list', { waf: { allowListOnly: true } }, /waf\.allowCidrs: must not be empty/],
    ['WAF switch that is not a boolean', { waf: { enabled: 'no' } }, /waf\.enabled: /],
    ['image rate above the general rate', { waf: { rateLimit: 50, createImageRateLimit: 60 } }, /waf\.createImageRateLimit: must not exceed waf\.rateLimit/],
    ['image throttling above the stage', { api: { createImageThrottlingRateLimit: 11 } }, /api\.createImageThrottlingRateLimit: must not exceed api\.throttlingRateLimit/],
    ['image burst above the stage', { api: { throttlingBurstLimit: 4 } }, /api\.createImageThrottlingBurstLimit: must not exceed api\.throttlingBurstLimit/],
    ['GPU budget of zero', { quotas: { gpuMinutesPerDay: 0 } }, /quotas\.gpuMinutesPerDay: /],
    ['per-IP quota above global', { quotas: { perIpPerDay: 600 } }, /quotas\.perIpPerDay: must not exceed quotas\.globalPerDay/],
    ['origin with a path', { api: { allowedOrigins: ['https://example.com/'] } }, /api\.allowedOrigins\.0: expected an origin/],
    ['bad e-mail', { alerts: { emails: ['ops'] } }, /alerts\.emails\.0: /],
    ['upper-case domain', { domain: { name: 'Images.Example.com', certificateArn: CERT } }, /domain\.name: expected a lower-case DNS name/],
    [
      'certificate outside us-east-1',
      { domain: { name: 'images.example.com', certificateArn: CERT.replace('us-east-1', 'eu-west-1') } },
      /domain\.certificateArn: expected an ACM certificate ARN in us-east-1/,
    ],
    ['hosted zone id without name', { domain: { name: 'images.example.com', certificateArn: CERT, hostedZoneId: 'Z123ABC' } }, /domain\.hostedZoneId: /],
    ['app name with a hyphen', { appName: 'my-app' }, /serverlessDiffusion\.appName: expected 1-20 letters and digits/],
    ['app name too long for bucket names', { appName: 'A'.repeat(21) }, /serverlessDiffusion\.appName: /],
    ['region', { region: 'mars-north-1x' }, /serverlessDiffusion\.region: expected an AWS region/],
    ['retention of zero days', { jobs: { retentionDays: 0 } }, /jobs\.retentionDays: /],
    ['negative budget', { budget: { monthlyLimitUsd: -5 } }, /budget\.monthlyLimitUsd: /],
    ['wrong type', { backend: { maxInstances: '2' } }, /backend\.maxInstances: /],
    ['engine function below 1 GB', { backend: { mode: 'lambda', lambdaMemoryMb: 512 } }, /serverlessDiffusion\.backend\.lambdaMemoryMb: /],
    ['engine function above Lambda\'s maximum', { backend: { lambdaMemoryMb: 10241 } }, /serverlessDiffusion\.backend\.lambdaMemoryMb: /],
    ['unknown architecture', { backend: { lambdaArchitecture: 'arm' } }, /serverlessDiffusion\.backend\.lambdaArchitecture: /],
    ['step time of zero', { backend: { lambdaSecondsPerStep: 0 } }, /serverlessDiffusion\.backend\.lambdaSecondsPerStep: /],
    ['keep-warm hour past the day', { backend: { mode: 'lambda', keepWarm: { fromHourUtc: 24, toHourUtc: 24 } } }, /serverlessDiffusion\.backend\.keepWarm\.fromHourUtc: /],
    ['keep-warm without its window', { backend: { mode: 'lambda', keepWarm: { fromHourUtc: 8 } } }, /serverlessDiffusion\.backend\.keepWarm\.toHourUtc: /],
    ['keep-warm interval over an hour', { backend: { mode: 'lambda', keepWarm: { fromHourUtc: 8, toHourUtc: 9, everyMinutes: 90 } } }, /serverlessDiffusion\.backend\.keepWarm\.everyMinutes: /],
    ['keep-warm on weekends', { backend: { mode: 'lambda', keepWarm: { fromHourUtc: 8, toHourUtc: 9, days: 'weekends' } } }, /serverlessDiffusion\.backend\.keepWarm\.days: /],
    ['misspelt keep-warm key', { backend: { mode: 'lambda', keepWarm: { fromHourUtc: 8, toHour: 9 } } }, /serverlessDiffusion\.backend\.keepWarm\.toHour: unknown key/],
    ['model info for a local folder', { model: { info: MODEL_INFO } }, /serverlessDiffusion\.model\.info: is for a model\.s3Uri model only/],
    [
      'model info outside the contract',
      { model: { s3Uri: 's3://my-models/sd/', info: { ...MODEL_INFO, scheduler: 'heun' } } },
      /serverlessDiffusion\.model\.info\.scheduler: /,
    ],
    ['model info missing a key', { model: { s3Uri: 's3://my-models/sd/', info: { width: 512 } } }, /serverlessDiffusion\.model\.info\.height: /],
  ])('%s', (_name, input, message) => {
    expect(() => parseDeploymentConfig(input)).toThrow(DeploymentConfigError);
    expect(() => parseDeploymentConfig(input)).toThrow(message);
  });

  test('a local model folder whose defaults the engine could not read is refused, naming the key and the file', () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'sd-model-'));
    try {
      const model = path.join(scratch, 'model');
      cpSync(path.join(REPO_ROOT, 'test/fixtures/oracle/models/tiny-sd'), model, { recursive: true });
      writeFileSync(path.join(model, 'generation_defaults.json'), JSON.stringify({ num_inference_steps: 0 }));
      expect(() => parseDeploymentConfig({ model: { localPath: model } })).toThrow(
        /serverlessDiffusion\.model\.localPath: generation_defaults\.json: num_inference_steps must be an integer from 1 to 50 but is 0/,
      );
      writeFileSync(path.join(model, 'generation_defaults.json'), JSON.stringify({ scheduler: 'ddim', num_inference_steps: 8 }));
      expect(parseDeploymentConfig({ model: { localPath: model } }).model.info).toMatchObject({ scheduler: 'ddim', steps: 8, guidance_scale: 7.5 });
      rmSync(path.join(model, 'scheduler'), { recursive: true });
      expect(() => parseDeploymentConfig({ model: { localPath: model } })).toThrow(/serverlessDiffusion\.model\.localPath: .*scheduler_config\.json is missing/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('every problem is reported at once', () => {
    try {
      parseDeploymentConfig({ backend: { maxInstances: 0 }, waf: { rateLimit: 1 } });
      throw new Error('expected a DeploymentConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(DeploymentConfigError);
      expect((error as DeploymentConfigError).problems).toEqual([
        expect.stringMatching(/^serverlessDiffusion\.backend\.maxInstances: /),
        expect.stringMatching(/^serverlessDiffusion\.waf\.rateLimit: /),
        // The cross-field checks see the bad value too.
        'serverlessDiffusion.waf.createImageRateLimit: must not exceed waf.rateLimit',
      ]);
    }
  });

  test('`npx cdk synth` (bin/app.ts) exits with the message naming the key', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'sd-bad-config-'));
    try {
      const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(REPO_ROOT, 'bin/app.ts')], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        // The CDK CLI hands cdk.json's context to the app in this variable.
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ serverlessDiffusion: { waf: { rateWindowSeconds: 7 } } }) },
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('Invalid configuration in cdk.json context "serverlessDiffusion"');
      expect(result.stderr).toContain('serverlessDiffusion.waf.rateWindowSeconds: must be one of 60, 120, 300, 600');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('context', () => {
  test('dotted keys override single settings, with JSON values decoded', () => {
    const merged = mergeContext({
      serverlessDiffusion: { backend: { mode: 'async', maxInstances: 1 }, alerts: { emails: [] } },
      'serverlessDiffusion.backend.maxInstances': '3',
      'serverlessDiffusion.alerts.emails': '["ops@example.com"]',
      'serverlessDiffusion.waf.managedRules.common': 'false',
      'serverlessDiffusion.backend.instanceType': 'ml.g5.xlarge',
      'some-other-flag': true,
    });
    expect(merged).toEqual({
      backend: { mode: 'async', maxInstances: 3, instanceType: 'ml.g5.xlarge' },
      alerts: { emails: ['ops@example.com'] },
      waf: { managedRules: { common: false } },
    });
  });

  test('the whole configuration may come as a JSON string (cdk -c serverlessDiffusion=...)', () => {
    const app = new App({ context: { serverlessDiffusion: JSON.stringify({ backend: { maxInstances: 2 } }) } });
    expect(deploymentConfigFromContext(app.node).backend.maxInstances).toBe(2);
  });

  test('a configuration that is not an object is refused', () => {
    expect(() => mergeContext({ serverlessDiffusion: '[1, 2]' })).toThrow(/serverlessDiffusion: expected an object/);
  });

  test('a bad override names the overridden key', () => {
    const app = new App({ context: { 'serverlessDiffusion.backend.maxInstances': '0' } });
    expect(() => deploymentConfigFromContext(app.node)).toThrow(/serverlessDiffusion\.backend\.maxInstances: /);
  });
});

describe('CIDR blocks', () => {
  test('are sorted by IP version for WAF IP sets', () => {
    expect(cidrVersion('203.0.113.0/24')).toBe('IPV4');
    expect(cidrVersion('2001:db8::/32')).toBe('IPV6');
    expect(cidrVersion('203.0.113.0/0')).toBeUndefined();
    expect(cidrVersion('203.0.113.0')).toBeUndefined();
    expect(cidrVersion('2001:db8::/129')).toBeUndefined();
    expect(cidrsByVersion(['203.0.113.7/32', '2001:db8::/48', '198.51.100.0/24'])).toEqual({
      IPV4: ['203.0.113.7/32', '198.51.100.0/24'],
      IPV6: ['2001:db8::/48'],
    });
  });
});
