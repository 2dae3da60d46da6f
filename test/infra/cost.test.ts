import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { estimateLambdaEngine } from '../../lib/config/lambda-engine-estimate';
import { costReport, costReportJson, formatCostReport } from '../../lib/cost/cli';
import {
  costSettings,
  idleMonthlyFloor,
  idleMonthlyFloorFreeTier,
  keepWarmCost,
  usageCost,
  wakeUpCost,
  worstCaseEngineFunctionUsdPerDay,
  worstCaseGpuMinutesPerDay,
} from '../../lib/cost/cost-model';
import { REPO_ROOT } from '../../lib/paths';
import { cdkJsonContext } from './support/synth';

const G4DN = 0.736;
/** Lambda list prices per GB-second, us-east-1. */
const X86_GB_SECOND = 0.0000166667;

describe('cost model', () => {
  const asyncSettings = costSettings(parseDeploymentConfig({}));

  test('the idle floor of the default async deployment counts WAF, secret, alarms, dashboard, storage and the publisher', () => {
    const floor = idleMonthlyFloor(asyncSettings);
    // Web ACL $5 + block list, two rate rules, body size rule and the anonymous-IP group at $1 each.
    expect(floor.items['WAF web ACL and rules']).toBe(10);
    expect(floor.items['Secrets Manager secret']).toBe(0.4);
    // Five operations alarms, wake and idle, and target tracking's two, at $0.10.
    expect(floor.items['CloudWatch alarms']).toBeCloseTo(0.9, 10);
    expect(floor.items['CloudWatch dashboard']).toBe(3);
    expect(floor.items['ECR engine image']).toBeCloseTo(0.3, 10);
    // 43,200 runs a month: requests, 0.3 s at 128 MB, 1 KB of logs each, and the custom metric.
    const publisher = 0.0432 * 0.2 + 43_200 * 0.3 * 0.125 * 0.0000133334 + 0.0432 * 0.5 + 0.3;
    expect(floor.items['Instance-count publisher']).toBeCloseTo(publisher, 6);
    expect(floor.totalUsd).toBeCloseTo(Object.values(floor.items).reduce((a, b) => a + b, 0), 10);
    expect(floor.totalUsd).toBeGreaterThan(14);
    expect(floor.totalUsd).toBeLessThan(15);
  });

  test("CloudWatch's free tier covers the dashboard, the alarms and the publisher's metric and logs, not its Lambda time", () => {
    const floor = idleMonthlyFloorFreeTier(asyncSettings);
    expect(floor.items['CloudWatch dashboard']).toBe(0);
    expect(floor.items['CloudWatch alarms']).toBe(0);
    expect(floor.items['Instance-count publisher']).toBeCloseTo(0.0432 * 0.2 + 43_200 * 0.3 * 0.125 * 0.0000133334, 6);
    expect(floor.items['WAF web ACL and rules']).toBe(10);
    // Alarms past the ten free ones are billed.
    expect(idleMonthlyFloorFreeTier({ ...asyncSettings, alarmCount: 13 }).items['CloudWatch alarms']).toBeCloseTo(0.3, 10);
  });

  test('without WAF there is no web ACL to pay for, and the gateway counts requests in DynamoDB instead', () => {
    const settings = costSettings(parseDeploymentConfig({ waf: { enabled: false } }));
    expect(settings.wafRuleCount).toBe(0);
    expect(idleMonthlyFloor(settings).items['WAF web ACL and rules']).toBeUndefined();
    const usage = usageCost(settings, { imagesPerDay: 100, wakeUpsPerDay: 20 });
    const withWaf = usageCost(asyncSettings, { imagesPerDay: 100, wakeUpsPerDay: 20 });
    expect(usage.items['WAF requests']).toBeUndefined();
    // One rate-counter write per request (1,500) and one more per POST (100).
    expect(usage.items['DynamoDB'] - withWaf.items['DynamoDB']).toBeCloseTo((1600 / 1e6) * 0.625, 12);
  });

  test('the goals of issue 14, on free-tier figures: WAF off at most $2 a month, the defaults at most $11', () => {
    expect(idleMonthlyFloorFreeTier(costSettings(parseDeploymentConfig({ waf: { enabled: false } }))).totalUsd).toBeLessThanOrEqual(2);
    expect(idleMonthlyFloorFreeTier(asyncSettings).totalUsd).toBeLessThanOrEqual(11);
  });

  test('the worst day is the GPU budget plus what never-sleeping traffic adds, at most every instance all day', () => {
    // Defaults: 500 images a day, each keeping the GPU up 7 minutes more, exceed a whole day.
    expect(worstCaseGpuMinutesPerDay(asyncSettings)).toBe(24 * 60);
    const small = costSettings(parseDeploymentConfig({ quotas: { perIpPerDay: 5, globalPerDay: 20, gpuMinutesPerDay: 60 } }));
    // 60 budgeted + one 12-minute wake-up past it + 20 images x (8 s + 5 idle + 2 lag minutes).
    expect(worstCaseGpuMinutesPerDay(small)).toBeCloseTo(60 + 12 + 20 * (8 / 60 + 7), 10);
    expect(worstCaseGpuMinutesPerDay(costSettings(parseDeploymentConfig({ backend: { mode: 'serverless' } })))).toBe(0);
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
    // 200 wake-ups of 12 minutes would be more than a day: they overlap, and one GPU stays up all day.
    expect(usageCost(asyncSettings, { imagesPerDay: 1000, wakeUpsPerDay: 200 }).gpuMinutesPerDay).toBe(24 * 60);
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

describe('lambda mode', () => {
  // Set figures, so the arithmetic does not move with the measured estimate (tested below).
  const settings = costSettings(parseDeploymentConfig({ backend: { mode: 'lambda', coldStartSeconds: 60, secondsPerImage: 20 } }));

  test('the idle floor has no endpoint and no instance-count publisher, and stores the CPU image', () => {
    const floor = idleMonthlyFloor(settings);
    expect(floor.items['Instance-count publisher']).toBeUndefined();
    expect(floor.items['ECR engine image']).toBeCloseTo(0.5 * 0.1, 10);
    // The engine function's errors, queue wait and duration, besides the two every mode has.
    expect(floor.items['CloudWatch alarms']).toBeCloseTo(5 * 0.1, 10);
    // Without WAF and on CloudWatch's free tier, what is left is the secret, the image and the model.
    const cheapest = idleMonthlyFloorFreeTier(costSettings(parseDeploymentConfig({ backend: { mode: 'lambda' }, waf: { enabled: false } })));
    expect(cheapest.totalUsd).toBeCloseTo(0.4 + 0.05 + cheapest.items['S3 model files'], 10);
  });

  test('a cold start bills its seconds at the function memory; an image its seconds and a request', () => {
    // 60 s of 10 GB at the x86 price.
    expect(wakeUpCost(settings)).toEqual({ usd: expect.closeTo(60 * 10 * X86_GB_SECOND, 12), gpuMinutes: 0 });
    const usage = usageCost(settings, { imagesPerDay: 100, wakeUpsPerDay: 20 });
    expect(usage.items['Engine function']).toBeCloseTo(100 * 20 * 10 * X86_GB_SECOND + 100 * 0.2e-6, 12);
    expect(usage.items['Engine cold starts']).toBeCloseTo(20 * 60 * 10 * X86_GB_SECOND, 12);
    expect(usage.items['GPU instance time']).toBeUndefined();
    expect(usage.gpuMinutesPerDay).toBe(0);
  });

  test('memory and the seconds per image set the price (arm64 is refused, see the config tests)', () => {
    const small = costSettings(parseDeploymentConfig({ backend: { mode: 'lambda', lambdaMemoryMb: 4096, secondsPerImage: 30 } }));
    expect(small.lambdaPerGbSecondUsd).toBe(X86_GB_SECOND);
    expect(usageCost(small, { imagesPerDay: 10, wakeUpsPerDay: 0 }).items['Engine function']).toBeCloseTo(10 * 30 * 4 * X86_GB_SECOND + 10 * 0.2e-6, 12);
  });

  test('the worst day is every job to the timeout, at most every reserved slot all day', () => {
    // 500 jobs of 900 s exceed a day: one slot all day.
    expect(worstCaseEngineFunctionUsdPerDay(settings)).toBeCloseTo(86_400 * 10 * X86_GB_SECOND + 500 * 0.2e-6, 10);
    const few = costSettings(
      parseDeploymentConfig({ backend: { mode: 'lambda', maxInstances: 4, lambdaSecondsPerStep: 0.5, coldStartSeconds: 60 }, quotas: { perIpPerDay: 5, globalPerDay: 50 } }),
    );
    expect(worstCaseEngineFunctionUsdPerDay(few)).toBeCloseTo(50 * 216 * 10 * X86_GB_SECOND + 50 * 0.2e-6, 10);
    expect(worstCaseEngineFunctionUsdPerDay(costSettings(parseDeploymentConfig({})))).toBe(0);
  });
});

describe('keep-warm (lambda mode)', () => {
  const keptWarm = (keepWarm: Record<string, unknown>) => costSettings(parseDeploymentConfig({ backend: { mode: 'lambda', coldStartSeconds: 60, keepWarm } }));
  /** A warm ping: 0.1 s of 10 GB and a request. */
  const PING = 0.1 * 10 * X86_GB_SECOND + 0.2e-6;
  const COLD_START = 60 * 10 * X86_GB_SECOND;

  test('costs its pings, each billed as a warm one, and a cold start at the start of every day\'s window', () => {
    const cost = keepWarmCost(keptWarm({ fromHourUtc: 8, toHourUtc: 20 }));
    // 12 hours × 12 pings × 30 days.
    expect(cost.pingsPerMonth).toBe(4320);
    expect(cost.coldStartsPerMonth).toBe(30);
    expect(cost.usdPerMonth).toBeCloseTo(4320 * PING + 30 * COLD_START, 12);
    // Weekdays only: five days in seven.
    const weekdays = keepWarmCost(keptWarm({ fromHourUtc: 8, toHourUtc: 20, days: 'weekdays' }));
    expect(weekdays.coldStartsPerMonth).toBeCloseTo((30 * 5) / 7, 12);
    expect(weekdays.usdPerMonth).toBeCloseTo((cost.usdPerMonth * 5) / 7, 12);
  });

  test("grows with the window's hours and the ping rate", () => {
    const usd = (keepWarm: Record<string, unknown>) => keepWarmCost(keptWarm(keepWarm)).usdPerMonth;
    expect(usd({ fromHourUtc: 8, toHourUtc: 12 })).toBeLessThan(usd({ fromHourUtc: 8, toHourUtc: 20 }));
    expect(usd({ fromHourUtc: 8, toHourUtc: 20 })).toBeLessThan(usd({ fromHourUtc: 0, toHourUtc: 24 }));
    expect(usd({ fromHourUtc: 0, toHourUtc: 24, everyMinutes: 1 }) - usd({ fromHourUtc: 0, toHourUtc: 24, everyMinutes: 60 })).toBeCloseTo(
      (1440 - 24) * 30 * PING,
      12,
    );
  });

  test('is zero when off, and ignored outside lambda mode, where the configuration refuses it', () => {
    const off = costSettings(parseDeploymentConfig({ backend: { mode: 'lambda' } }));
    expect(off.keepWarm).toBeUndefined();
    expect(keepWarmCost(off)).toEqual({ usdPerMonth: 0, pingsPerMonth: 0, coldStartsPerMonth: 0 });
    const schedule = { fromHourUtc: 8, toHourUtc: 20, everyMinutes: 5, days: 'daily' } as const;
    expect(keepWarmCost({ ...costSettings(parseDeploymentConfig({})), keepWarm: schedule }).usdPerMonth).toBe(0);
    expect(() => costReport(['--set', 'backend.keepWarm={"fromHourUtc":8,"toHourUtc":20}'])).toThrow(
      /serverlessDiffusion\.backend\.keepWarm: is for backend\.mode "lambda" only/,
    );
  });

  test('the report prints it on its own line, adds it to the month, and says what a visitor in the window waits', () => {
    const args = ['--set', 'backend.mode=lambda', '--set', 'backend.coldStartSeconds=60', '--set', 'backend.secondsPerImage=20', '--images-per-day', '100'];
    const report = costReport([...args, '--set', 'backend.keepWarm={"fromHourUtc":8,"toHourUtc":20}']);
    const without = costReport(args);
    expect(report.keepWarm).toBe('08-20 UTC daily, every 5 min');
    expect(report.keepWarmUsdPerMonth).toBeCloseTo(4320 * PING + 30 * COLD_START, 12);
    expect(report.perMonthUsd).toBeCloseTo(without.perMonthUsd + report.keepWarmUsdPerMonth, 10);
    // Not an idle-floor item: the dashboard measures these runs with the engine function's own.
    expect(report.idleMonthlyFloorUsd).toBe(without.idleMonthlyFloorUsd);
    expect(report.warmFirstImageWaitSeconds).toBe(20);
    const text = formatCostReport(report);
    expect(text).toContain("Keep-warm, 08-20 UTC daily, every 5 min: $0.3729/month (4,320 pings, 30 cold starts at the window's start)");
    expect(text).toContain('In those hours the first image takes about 20 s, not 80 s');
    expect(text).toMatch(/per month \(floor, keep-warm\) \$\d+\.\d\d/);
    expect(formatCostReport(without)).not.toContain('Keep-warm');
    expect(costReportJson(report)).toMatchObject({
      keep_warm: '08-20 UTC daily, every 5 min',
      keep_warm_usd_per_month: report.keepWarmUsdPerMonth,
      keep_warm_pings_per_month: 4320,
      keep_warm_cold_starts_per_month: 30,
    });
    expect(costReportJson(without)).toMatchObject({ keep_warm: null, keep_warm_usd_per_month: 0 });
  });
});

describe('--set backend.mode="lambda"', () => {
  test('prices the cold start and the image from the estimate for the model unless they are set', () => {
    const estimate = estimateLambdaEngine({ safetyChecker: true });
    // Without cdk.json's local test model: a model in S3, of unknown size and defaults.
    const report = costReport(['--set', 'backend.mode="lambda"', '--set', 'model.s3Uri="s3://my-models/sd15-lcm/"', '--images-per-day', '100'], {});
    expect(report.firstImageWaitSeconds).toBe(Math.ceil(estimate.coldStartSeconds) + Math.ceil(estimate.secondsPerImage) + 1.1);
    expect(report.wakeUpUsd).toBeCloseTo(Math.ceil(estimate.coldStartSeconds) * 10 * X86_GB_SECOND, 12);
    expect(formatCostReport(report)).toContain(`First image from a sleeping engine: about ${Math.round(report.firstImageWaitSeconds)} s`);
    // The parts are printed, and the JSON carries them; a configured figure is named as replacing its estimate.
    expect(formatCostReport(report)).toContain(
      `cold start ${estimate.coldStartSeconds.toFixed(1)} s (staging ${estimate.stagingSeconds.toFixed(1)} s, sessions and warm-up ${estimate.loadSeconds.toFixed(1)} s), an image ${estimate.secondsPerImage.toFixed(1)} s\n`,
    );
    expect(costReportJson(report).lambda_estimate).toEqual({
      cold_start_seconds: estimate.coldStartSeconds,
      staging_seconds: estimate.stagingSeconds,
      load_seconds: estimate.loadSeconds,
      seconds_per_image: estimate.secondsPerImage,
      replaced_by: [],
    });
    const configured = costReport(['--set', 'backend.mode="lambda"', '--set', 'model.s3Uri="s3://my-models/sd15-lcm/"', '--set', 'backend.secondsPerImage=12'], {});
    expect(configured.firstImageWaitSeconds).toBe(Math.ceil(estimate.coldStartSeconds) + 12 + 1.1);
    expect(formatCostReport(configured)).toMatch(/an image [\d.]+ s; replaced by the configured backend\.secondsPerImage\n/);
    expect(costReportJson(costReport([])).lambda_estimate).toBeUndefined();
  });

  test('prints the engine function, a cold start, the first-image wait and the worst day', () => {
    const report = costReport(['--set', 'backend.mode="lambda"', '--set', 'backend.coldStartSeconds=60', '--set', 'backend.secondsPerImage=20', '--images-per-day', '100']);
    expect(report.firstImageWaitSeconds).toBe(80);
    const text = formatCostReport(report);
    expect(text).toMatch(/^serverless-diffusion cost estimate: engine function on Lambda, 10240 MB at \$0\.0000166667\/GB-second/);
    expect(text).toContain('One cold start: $0.0100 (the model staged from S3');
    expect(text).toContain('First image from a sleeping engine: about 80 s');
    expect(text).toMatch(/Engine function\s+\$0\.3334/);
    expect(text).toContain(`Worst case, quotas.globalPerDay jobs each running to the timeout, at most backend.maxInstances at once all day: $14.40/day`);
    expect(text).not.toContain('GPU');
    const json = costReportJson(report);
    expect(json).toMatchObject({ mode: 'lambda', first_image_wait_seconds: 80, per_wake_up_usd: report.wakeUpUsd, gpu_budget_minutes_per_day: 0 });
    expect(json.worst_case_engine_function_usd_per_day).toBeCloseTo(14.4, 2);
    // The GPU mode's first image waits for the instance: 300 s and 8 s.
    expect(costReport([]).firstImageWaitSeconds).toBe(308);
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
    expect(text).toContain(`with CloudWatch's free tier  $${report.idleMonthlyFloorFreeTierUsd.toFixed(2)}`);
    expect(text).toContain('Wake-up guard: 120 GPU-minutes a day ($1.47)');
    // 20 wake-ups of 12 minutes and 100 images of 8 s: 253 GPU-minutes, past the 120 of the guard.
    expect(report.usageGpuMinutesPerDay).toBeCloseTo(20 * 12 + (100 * 8) / 60, 10);
    expect(text).toContain('This takes 253 GPU-minutes a day, above quotas.gpuMinutesPerDay (120)');
    // Jobs for an awake GPU still run: at the defaults, traffic that never lets it sleep keeps it up all day.
    expect(report.worstCaseGpuPerDayUsd).toBeCloseTo(24 * G4DN, 10);
    expect(text).toContain(`Worst case, traffic that never lets the GPU sleep: $${(24 * G4DN).toFixed(2)}/day`);
  });

  test('--set takes a key and a JSON value as -c serverlessDiffusion.KEY=JSON gives them to cdk', () => {
    const viaSet = costReport(['--set', 'waf.enabled=false', '--set', 'backend.idleMinutesBeforeScaleIn=10']);
    const viaContext = costReport([], {
      ...cdkJsonContext(),
      'serverlessDiffusion.waf.enabled': 'false',
      'serverlessDiffusion.backend.idleMinutesBeforeScaleIn': '10',
    });
    expect(viaSet).toEqual(viaContext);
    expect(viaSet.wafEnabled).toBe(false);
    expect(viaSet.wakeUpGpuMinutes).toBe(17);
    // A JSON string and a bare word are the same value, as with -c.
    expect(costReport(['--set', 'backend.mode="serverless"']).mode).toBe('serverless');
    expect(costReport(['--set', 'backend.mode=serverless']).mode).toBe('serverless');
  });

  test('--set is validated by the configuration schema, naming the key', () => {
    expect(() => costReport(['--set', 'backend.mode="gpu"'])).toThrow(/serverlessDiffusion\.backend\.mode: /);
    expect(() => costReport(['--set', 'waf.enabled=maybe'])).toThrow(/serverlessDiffusion\.waf\.enabled: /);
    expect(() => costReport(['--set', 'waf.enabeld=false'])).toThrow(/serverlessDiffusion\.waf\.enabeld: unknown key/);
    expect(() => costReport(['--set', 'waf.enabled'])).toThrow(/--set expects KEY=JSON, such as waf\.enabled=false, but got "waf\.enabled"/);
  });

  test('--json gives the headline figures and every item under stable names', () => {
    const report = costReport(['--set', 'waf.enabled=false', '--images-per-day', '50']);
    const json = costReportJson(report);
    expect(json).toMatchObject({
      mode: 'async',
      waf_enabled: false,
      idle_floor_usd_per_month: report.idleMonthlyFloorUsd,
      idle_floor_free_tier_usd_per_month: report.idleMonthlyFloorFreeTierUsd,
      per_wake_up_usd: report.wakeUpUsd,
      per_image_usd: report.perImageUsd,
      monthly_usd: report.perMonthUsd,
      images_per_day: 50,
      items: { idle_floor: report.idleItems, idle_floor_free_tier: report.idleItemsFreeTier, usage_per_day: report.usageItems },
    });
    expect(json.idle_floor_free_tier_usd_per_month as number).toBeLessThan(json.idle_floor_usd_per_month as number);
    expect(json.monthly_usd as number).toBeCloseTo(report.idleMonthlyFloorUsd + 30 * report.perDayUsd, 10);
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

  test('the npm script prints one JSON object with --json', () => {
    const result = spawnSync(
      process.execPath,
      [require.resolve('tsx/cli'), path.join(REPO_ROOT, 'lib/cost/cli.ts'), '--json', '--set', 'waf.enabled=false', '--images-per-day', '10'],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ waf_enabled: false, images_per_day: 10, idle_floor_free_tier_usd_per_month: expect.any(Number) });
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
