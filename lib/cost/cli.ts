import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { mergeContext } from '../config/context';
import { CONFIG_CONTEXT_KEY, parseDeploymentConfig } from '../config/deployment-config';
import { describeKeepWarm } from '../config/keep-warm';
import { REPO_ROOT } from '../paths';
import {
  costSettings,
  defaultWakeUpsPerDay,
  idleMonthlyFloor,
  idleMonthlyFloorFreeTier,
  keepWarmCost,
  usageCost,
  wakeUpCost,
  worstCaseEngineFunctionUsdPerDay,
  worstCaseGpuMinutesPerDay,
  type CostItems,
} from './cost-model';
import { PRICE_REGION } from './prices';
import type { LambdaEngineEstimate } from '../config/lambda-engine-estimate';

const USAGE = `Usage: npm run cost -- [--images-per-day N] [--wake-ups-per-day N] [--set KEY=JSON]... [--json]

Estimates this deployment's cost from cdk.json and lib/cost/prices.ts (the dashboard's prices):
the idle monthly floor, one wake-up from zero (a GPU's, or the engine function's cold start), and
the cost at the given usage.
  --images-per-day N    images generated per day (default 100)
  --wake-ups-per-day N  times per day the engine starts from zero (default: one per 5 images)
  --set KEY=JSON        a setting on top of cdk.json, as -c serverlessDiffusion.KEY=JSON would
                        give it to cdk deploy; repeatable (--set waf.enabled=false)
  --json                one JSON object instead of the table`;

export interface CostReport {
  readonly region: string;
  readonly mode: string;
  readonly instanceType: string;
  readonly gpuHourlyPriceUsd: number;
  /** The engine function's memory and price per GB-second (lambda mode). */
  readonly lambdaMemoryMb: number;
  readonly lambdaPerGbSecondUsd: number;
  readonly idleMonthlyFloorUsd: number;
  readonly idleItems: CostItems;
  /** The floor with CloudWatch's always-free dashboards, alarms, metrics and logs counted free. */
  readonly idleMonthlyFloorFreeTierUsd: number;
  readonly idleItemsFreeTier: CostItems;
  readonly wafEnabled: boolean;
  readonly wakeUpUsd: number;
  readonly wakeUpGpuMinutes: number;
  /** Seconds from a request to the first image when the engine sleeps: the page's own estimate. */
  readonly firstImageWaitSeconds: number;
  /** The safety checker's seconds per image on the engine function (lambda); 0 where it does not run. */
  readonly safetyCheckSecondsPerImage: number;
  /** Lambda mode: the estimate for this model, and whether the configuration replaced it. */
  readonly lambdaEstimate?: LambdaEngineEstimate & { readonly overridden: readonly string[] };
  /** `backend.keepWarm` in words (lambda); undefined when it is off. */
  readonly keepWarm?: string;
  /** The schedule's pings and its cold starts, one at each window's start; 0 when it is off. */
  readonly keepWarmUsdPerMonth: number;
  readonly keepWarmPingsPerMonth: number;
  readonly keepWarmColdStartsPerMonth: number;
  /** Seconds to the first image inside the keep-warm window, where no cold start comes first. */
  readonly warmFirstImageWaitSeconds: number;
  readonly imagesPerDay: number;
  readonly wakeUpsPerDay: number;
  readonly perDayUsd: number;
  readonly perMonthUsd: number;
  /** `perMonthUsd` with the free-tier floor. */
  readonly perMonthFreeTierUsd: number;
  readonly perImageUsd: number;
  readonly usageItems: CostItems;
  /** GPU instance-minutes the usage takes per day, and the wake-up guard's daily budget. */
  readonly usageGpuMinutesPerDay: number;
  readonly gpuMinutesPerDay: number;
  readonly gpuBudgetPerDayUsd: number;
  /**
   * The GPU bill of the worst day: the wake-up guard's budget, then traffic that never lets the
   * GPU sleep (jobs for an awake GPU still run), up to every instance all day.
   */
  readonly worstCaseGpuPerDayUsd: number;
  /**
   * The engine function's bill of the worst day (lambda): every job of the day's images running to
   * the timeout, at most every reserved slot all day.
   */
  readonly worstCaseEngineFunctionPerDayUsd: number;
}

/** `--set KEY=JSON` as the `-c serverlessDiffusion.KEY=JSON` context entry cdk would receive. */
function settingOverrides(sets: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const set of sets) {
    const match = /^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*)=(.*)$/s.exec(set);
    if (!match) throw new Error(`--set expects KEY=JSON, such as waf.enabled=false, but got ${JSON.stringify(set)}\n\n${USAGE}`);
    overrides[`${CONFIG_CONTEXT_KEY}.${match[1]}`] = match[2];
  }
  return overrides;
}

/** Parses the arguments and computes the report; throws with a usage message on bad input. */
export function costReport(args: readonly string[], context: Record<string, unknown> = cdkJsonContext()): CostReport {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'images-per-day': { type: 'string', default: '100' },
      'wake-ups-per-day': { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const imagesPerDay = count('--images-per-day', values['images-per-day']);
  const wakeUpsPerDay =
    values['wake-ups-per-day'] === undefined ? defaultWakeUpsPerDay(imagesPerDay) : count('--wake-ups-per-day', values['wake-ups-per-day']);
  // The same merge and schema as the CDK app, so a key or value cdk would refuse is refused here.
  const merged = mergeContext({ ...context, ...settingOverrides(values.set) });
  const config = parseDeploymentConfig(merged);
  const settings = costSettings(config);
  const floor = idleMonthlyFloor(settings);
  const freeTierFloor = idleMonthlyFloorFreeTier(settings);
  const wakeUp = wakeUpCost(settings);
  const usage = usageCost(settings, { imagesPerDay, wakeUpsPerDay });
  const keepWarm = keepWarmCost(settings);
  const warmFirstImageWaitSeconds = settings.secondsPerImage + settings.safetyCheckSecondsPerImage;
  const gpuUsd = (minutes: number) => (minutes / 60) * settings.gpuHourlyPriceUsd;
  return {
    region: config.region,
    mode: settings.mode,
    instanceType: settings.instanceType,
    gpuHourlyPriceUsd: settings.gpuHourlyPriceUsd,
    lambdaMemoryMb: settings.lambdaMemoryMb,
    lambdaPerGbSecondUsd: settings.lambdaPerGbSecondUsd,
    wafEnabled: settings.wafEnabled,
    idleMonthlyFloorUsd: floor.totalUsd,
    idleItems: floor.items,
    idleMonthlyFloorFreeTierUsd: freeTierFloor.totalUsd,
    idleItemsFreeTier: freeTierFloor.items,
    wakeUpUsd: wakeUp.usd,
    wakeUpGpuMinutes: wakeUp.gpuMinutes,
    firstImageWaitSeconds: settings.coldStartSeconds + warmFirstImageWaitSeconds,
    safetyCheckSecondsPerImage: settings.safetyCheckSecondsPerImage,
    ...(config.backend.lambdaEstimate ? { lambdaEstimate: { ...config.backend.lambdaEstimate, overridden: configuredTimings(merged) } } : {}),
    ...(settings.keepWarm ? { keepWarm: describeKeepWarm(settings.keepWarm) } : {}),
    keepWarmUsdPerMonth: keepWarm.usdPerMonth,
    keepWarmPingsPerMonth: keepWarm.pingsPerMonth,
    keepWarmColdStartsPerMonth: keepWarm.coldStartsPerMonth,
    warmFirstImageWaitSeconds,
    imagesPerDay,
    wakeUpsPerDay,
    perDayUsd: usage.perDayUsd,
    perMonthUsd: usage.perMonthUsd,
    perMonthFreeTierUsd: usage.perMonthUsd - floor.totalUsd + freeTierFloor.totalUsd,
    perImageUsd: usage.perImageUsd,
    usageItems: usage.items,
    usageGpuMinutesPerDay: usage.gpuMinutesPerDay,
    gpuMinutesPerDay: settings.mode === 'async' ? settings.gpuMinutesPerDay : 0,
    gpuBudgetPerDayUsd: settings.mode === 'async' ? gpuUsd(settings.gpuMinutesPerDay) : 0,
    worstCaseGpuPerDayUsd: gpuUsd(worstCaseGpuMinutesPerDay(settings)),
    worstCaseEngineFunctionPerDayUsd: worstCaseEngineFunctionUsdPerDay(settings),
  };
}

/**
 * The report as one JSON object for scripts: the headline figures under stable snake_case names,
 * then every item.
 */
export function costReportJson(report: CostReport): Record<string, unknown> {
  return {
    region: report.region,
    mode: report.mode,
    instance_type: report.instanceType,
    gpu_hourly_price_usd: report.gpuHourlyPriceUsd,
    waf_enabled: report.wafEnabled,
    idle_floor_usd_per_month: report.idleMonthlyFloorUsd,
    idle_floor_free_tier_usd_per_month: report.idleMonthlyFloorFreeTierUsd,
    per_wake_up_usd: report.wakeUpUsd,
    wake_up_gpu_minutes: report.wakeUpGpuMinutes,
    first_image_wait_seconds: report.firstImageWaitSeconds,
    keep_warm: report.keepWarm ?? null,
    keep_warm_usd_per_month: report.keepWarmUsdPerMonth,
    keep_warm_pings_per_month: report.keepWarmPingsPerMonth,
    keep_warm_cold_starts_per_month: report.keepWarmColdStartsPerMonth,
    images_per_day: report.imagesPerDay,
    wake_ups_per_day: report.wakeUpsPerDay,
    per_day_usd: report.perDayUsd,
    per_image_usd: report.perImageUsd,
    monthly_usd: report.perMonthUsd,
    monthly_free_tier_usd: report.perMonthFreeTierUsd,
    usage_gpu_minutes_per_day: report.usageGpuMinutesPerDay,
    gpu_budget_minutes_per_day: report.gpuMinutesPerDay,
    gpu_budget_usd_per_day: report.gpuBudgetPerDayUsd,
    worst_case_gpu_usd_per_day: report.worstCaseGpuPerDayUsd,
    worst_case_engine_function_usd_per_day: report.worstCaseEngineFunctionPerDayUsd,
    ...(report.lambdaEstimate
      ? {
          lambda_estimate: {
            cold_start_seconds: report.lambdaEstimate.coldStartSeconds,
            staging_seconds: report.lambdaEstimate.stagingSeconds,
            load_seconds: report.lambdaEstimate.loadSeconds,
            seconds_per_image: report.lambdaEstimate.secondsPerImage,
            replaced_by: report.lambdaEstimate.overridden,
          },
        }
      : {}),
    items: {
      idle_floor: report.idleItems,
      idle_floor_free_tier: report.idleItemsFreeTier,
      usage_per_day: report.usageItems,
    },
  };
}

/** The report as the table `npm run cost` prints. */
export function formatCostReport(report: CostReport): string {
  const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;
  const items = (entries: CostItems) =>
    Object.entries(entries)
      .filter(([, value]) => value > 0)
      .map(([name, value]) => `    ${name.padEnd(28)} ${usd(value)}`);
  const backend =
    report.mode === 'async'
      ? `async GPU endpoint on ${report.instanceType} at $${report.gpuHourlyPriceUsd}/h`
      : report.mode === 'lambda'
        ? `engine function on Lambda, ${report.lambdaMemoryMb} MB at $${report.lambdaPerGbSecondUsd}/GB-second`
        : `${report.mode} backend`;
  return [
    `serverless-diffusion cost estimate: ${backend}; ${PRICE_REGION} on-demand prices (deploying to ${report.region})`,
    '',
    `Idle monthly floor: ${usd(report.idleMonthlyFloorUsd)}`,
    ...items(report.idleItems),
    `    ${"with CloudWatch's free tier".padEnd(28)} ${usd(report.idleMonthlyFloorFreeTierUsd)}`,
    '',
    report.mode === 'async'
      ? `One wake-up from zero: ${usd(report.wakeUpUsd)} (${report.wakeUpGpuMinutes.toFixed(1)} GPU-minutes: boot, idle period, scale-in lag)`
      : report.mode === 'lambda'
        ? `One cold start: ${usd(report.wakeUpUsd)} (the model staged from S3 and the sessions created, billed as the first run's time)`
        : 'One wake-up from zero: $0 (no instances to start)',
    `First image from a sleeping engine: about ${Math.round(report.firstImageWaitSeconds)} s (backend.coldStartSeconds + secondsPerImage${report.safetyCheckSecondsPerImage > 0 ? ' + the safety checker' : ''})`,
    ...(report.lambdaEstimate ? [describeLambdaEstimate(report.lambdaEstimate)] : []),
    ...(report.safetyCheckSecondsPerImage > 0
      ? [`Safety checker: ${report.safetyCheckSecondsPerImage} s per image on the engine function (backend.lambdaSecondsPerSafetyCheck; npm run bench:safety measures it; safety.checker "off" saves it)`]
      : []),
    ...(report.keepWarm
      ? [
          `Keep-warm, ${report.keepWarm}: ${usd(report.keepWarmUsdPerMonth)}/month ` +
            `(${Math.round(report.keepWarmPingsPerMonth).toLocaleString('en-US')} pings, ` +
            `${Math.round(report.keepWarmColdStartsPerMonth)} cold starts at the window's start)`,
          `    In those hours the first image takes about ${Math.round(report.warmFirstImageWaitSeconds)} s, not ${Math.round(report.firstImageWaitSeconds)} s: ` +
            'no cold start (--wake-ups-per-day need count only visits outside them); Lambda may still recycle the environment.',
        ]
      : []),
    '',
    `At ${report.imagesPerDay} images/day with ${report.wakeUpsPerDay} wake-ups/day:`,
    ...items(report.usageItems),
    `    ${'per day (usage only)'.padEnd(28)} ${usd(report.perDayUsd)}`,
    `    ${'per image'.padEnd(28)} ${usd(report.perImageUsd)}`,
    `    ${(report.keepWarm ? 'per month (floor, keep-warm)' : 'per month (with idle floor)').padEnd(28)} ${usd(report.perMonthUsd)}`,
    ...(report.mode === 'async'
      ? [
          ...(report.usageGpuMinutesPerDay > report.gpuMinutesPerDay
            ? [
                `    This takes ${report.usageGpuMinutesPerDay.toFixed(0)} GPU-minutes a day, above quotas.gpuMinutesPerDay ` +
                  `(${report.gpuMinutesPerDay}): past it, jobs that would wake the GPU are refused until midnight.`,
              ]
            : []),
          '',
          `Wake-up guard: ${report.gpuMinutesPerDay} GPU-minutes a day (${usd(report.gpuBudgetPerDayUsd)}) before the GPU stays asleep until midnight.`,
          `Worst case, traffic that never lets the GPU sleep: ${usd(report.worstCaseGpuPerDayUsd)}/day of GPU time ` +
            `(${usd(report.worstCaseGpuPerDayUsd * 30)}/month); the monthly budget alarm is the backstop.`,
        ]
      : []),
    ...(report.mode === 'lambda'
      ? [
          '',
          `Worst case, quotas.globalPerDay jobs each running to the timeout, at most backend.maxInstances at once all day: ` +
            `${usd(report.worstCaseEngineFunctionPerDayUsd)}/day (${usd(report.worstCaseEngineFunctionPerDayUsd * 30)}/month).`,
        ]
      : []),
  ].join('\n');
}

/** Which of the two estimated settings cdk.json or `--set` gives, so the report says what it used. */
function configuredTimings(merged: Record<string, unknown>): string[] {
  const backend = merged.backend as Record<string, unknown> | undefined;
  return ['coldStartSeconds', 'secondsPerImage'].filter((key) => backend?.[key] !== undefined).map((key) => `backend.${key}`);
}

function describeLambdaEstimate(estimate: NonNullable<CostReport['lambdaEstimate']>): string {
  const seconds = (value: number) => `${value.toFixed(1)} s`;
  const line =
    `Estimated for this model from parts measured on the full-size SD 1.5 (lib/config/lambda-engine-estimate.ts): ` +
    `cold start ${seconds(estimate.coldStartSeconds)} (staging ${seconds(estimate.stagingSeconds)}, sessions and warm-up ${seconds(estimate.loadSeconds)}), ` +
    `an image ${seconds(estimate.secondsPerImage)}`;
  return estimate.overridden.length > 0 ? `${line}; replaced by the configured ${estimate.overridden.join(' and ')}` : line;
}

function count(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`${flag} must be a whole number of 0 or more but is ${JSON.stringify(text)}\n\n${USAGE}`);
  }
  return value;
}

function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context ?? {};
}

function main(argv: readonly string[]): void {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  try {
    const report = costReport(argv);
    console.log(argv.includes('--json') ? JSON.stringify(costReportJson(report)) : formatCostReport(report));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}

if (require.main === module) main(process.argv.slice(2));
