import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { costReport, formatCostReport } from '../../lib/cost/cli';
import { costSettings, idleMonthlyFloor, usageCost, wakeUpCost } from '../../lib/cost/cost-model';
import { REPO_ROOT } from '../../lib/paths';
import { cdkJsonContext } from './support/synth';

const G4DN = 0.736;

describe('cost model', () => {
  const asyncSettings = costSettings(parseDeploymentConfig({}));

  test('the idle floor of the default async deployment counts WAF, secret, alarms, dashboard, storage and the publisher', () => {
    const floor = idleMonthlyFloor(asyncSettings);
    // Web ACL $5 + rate rule + three managed groups at $1 each.
    expect(floor.items['WAF web ACL and rules']).toBe(9);
    expect(floor.items['Secrets Manager secret']).toBe(0.4);
    // Five operations alarms, wake and idle, and target tracking's two, at $0.10.
    expect(floor.items['CloudWatch alarms']).toBeCloseTo(0.9, 10);
    expect(floor.items['CloudWatch dashboard']).toBe(3);
    expect(floor.items['ECR engine image']).toBeCloseTo(0.3, 10);
    // 43,200 runs a month: requests, 0.3 s at 128 MB, 1 KB of logs each, and the custom metric.
    const publisher = 0.0432 * 0.2 + 43_200 * 0.3 * 0.125 * 0.0000133334 + 0.0432 * 0.5 + 0.3;
    expect(floor.items['Instance-count publisher']).toBeCloseTo(publisher, 6);
    expect(floor.totalUsd).toBeCloseTo(Object.values(floor.items).reduce((a, b) => a + b, 0), 10);
    expect(floor.totalUsd).toBeGreaterThan(13);
    expect(floor.totalUsd).toBeLessThan(15);
  });

  test('a wake-up bills the boot, the idle period and the scale-in lag', () => {
    // 300 s boot + 5 idle minutes + 2 minutes lag = 12 GPU-minutes.
    expect(wakeUpCost(asyncSettings)).toEqual({ gpuMinutes: 12, usd: expect.closeTo((12 / 60) * G4DN, 10) });
    const longerIdle = costSettings(parseDeploymentConfig({ backend: { idleMinutesBeforeScaleIn: 15 } }));
    expect(wakeUpCost(longerIdle).gpuMinutes).toBe(22);
  });

  test('usage adds wake-ups and busy GPU time, and spreads over images', () => {
    const usage = usageCost(asyncSettings, { imagesPerDay: 100, wakeUpsPerDay: 20 });
    const gpu = 20 * (12 / 60) * G4DN + ((100 * 8) / 3600) * G4DN;
    expect(usage.items['GPU instance time']).toBeCloseTo(gpu, 10);
    // 15 API calls per image: 1,500 requests at $3.50 per million.
    expect(usage.items['API Gateway']).toBeCloseTo(0.00525, 10);
    expect(usage.perImageUsd).toBeCloseTo(usage.perDayUsd / 100, 12);
    expect(usage.perMonthUsd).toBeCloseTo(idleMonthlyFloor(asyncSettings).totalUsd + 30 * usage.perDayUsd, 10);
    const idle = usageCost(asyncSettings, { imagesPerDay: 0, wakeUpsPerDay: 0 });
    expect(idle.perDayUsd).toBe(0);
    expect(idle.perImageUsd).toBe(0);
  });

  test('the serverless mode bills memory-seconds and has no wake-up or publisher', () => {
    const settings = costSettings(parseDeploymentConfig({ backend: { mode: 'serverless' } }));
    expect(wakeUpCost(settings)).toEqual({ usd: 0, gpuMinutes: 0 });
    expect(idleMonthlyFloor(settings).items['Instance-count publisher']).toBeUndefined();
    const usage = usageCost(settings, { imagesPerDay: 10, wakeUpsPerDay: 2 });
    expect(usage.items['SageMaker serverless']).toBeCloseTo(10 * 8 * 6 * 0.00002, 12);
    expect(usage.items['GPU instance time']).toBeUndefined();
  });

  test('the external mode stores no engine image or model', () => {
    const settings = costSettings(parseDeploymentConfig({ backend: { mode: 'external', externalUrl: 'https://engine.example.com' } }));
    const floor = idleMonthlyFloor(settings);
    expect(floor.items['ECR engine image']).toBeUndefined();
    expect(floor.items['S3 model files']).toBeUndefined();
    expect(floor.items['CloudWatch alarms']).toBeCloseTo(0.2, 10);
  });

  test('a configured GPU price replaces the table price', () => {
    const settings = costSettings(parseDeploymentConfig({ backend: { instanceType: 'ml.g6e.xlarge', hourlyPriceUsd: 2 } }));
    expect(wakeUpCost(settings).usd).toBeCloseTo((12 / 60) * 2, 10);
  });
});

describe('npm run cost', () => {
  test('reports the floor, one wake-up and the usage from cdk.json', () => {
    const report = costReport(['--images-per-day', '100']);
    expect(report.imagesPerDay).toBe(100);
    // Default: visits of five images, one wake-up each.
    expect(report.wakeUpsPerDay).toBe(20);
    expect(report.wakeUpUsd).toBeCloseTo((12 / 60) * G4DN, 10);
    const text = formatCostReport(report);
    expect(text).toContain(`Idle monthly floor: $${report.idleMonthlyFloorUsd.toFixed(2)}`);
    expect(text).toContain('One wake-up from zero: $0.1472 (12.0 GPU-minutes');
    expect(text).toContain('At 100 images/day with 20 wake-ups/day:');
    expect(text).toMatch(/per image\s+\$0\.0\d{3}/);
    // Quotas count images, not GPU time: the worst case is every instance up all day.
    expect(report.worstCaseGpuPerDayUsd).toBeCloseTo(24 * G4DN, 10);
    expect(text).toContain(`Worst case, GPU never idle long enough to stop: $${(24 * G4DN).toFixed(2)}/day`);
  });

  test('takes the wake-ups per day and reads configuration overrides like the CDK app', () => {
    const context = { ...cdkJsonContext(), 'serverlessDiffusion.backend.idleMinutesBeforeScaleIn': '10' };
    const report = costReport(['--images-per-day', '10', '--wake-ups-per-day', '1'], context);
    expect(report.wakeUpsPerDay).toBe(1);
    expect(report.wakeUpGpuMinutes).toBe(17);
  });

  test('rejects a count that is not a whole number, naming the flag', () => {
    expect(() => costReport(['--images-per-day', '2.5'])).toThrow(/--images-per-day must be a whole number/);
    expect(() => costReport(['--wake-ups-per-day', 'x'])).toThrow(/--wake-ups-per-day must be a whole number/);
    expect(() => costReport(['--unknown'])).toThrow(/unknown/i);
  });

  test('the npm script prints the table', () => {
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(REPO_ROOT, 'lib/cost/cli.ts'), '--images-per-day', '100'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^serverless-diffusion cost estimate: async GPU endpoint on ml\.g4dn\.xlarge at \$0\.736\/h/);
    expect(result.stdout).toContain('Idle monthly floor:');
  });
});
