import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { mergeContext } from '../config/context';
import { parseDeploymentConfig } from '../config/deployment-config';
import { REPO_ROOT } from '../paths';
import { costSettings, defaultWakeUpsPerDay, idleMonthlyFloor, usageCost, wakeUpCost, type CostItems } from './cost-model';
import { PRICE_REGION } from './prices';

const USAGE = `Usage: npm run cost -- [--images-per-day N] [--wake-ups-per-day N] [--json]

Estimates this deployment's cost from cdk.json and lib/cost/prices.ts (the dashboard's prices):
the idle monthly floor, one GPU wake-up from zero, and the cost at the given usage.
  --images-per-day N    images generated per day (default 100)
  --wake-ups-per-day N  times per day the GPU starts from zero (default: one per 5 images)
  --json                one JSON line instead of the table`;

export interface CostReport {
  readonly region: string;
  readonly mode: string;
  readonly instanceType: string;
  readonly gpuHourlyPriceUsd: number;
  readonly idleMonthlyFloorUsd: number;
  readonly idleItems: CostItems;
  readonly wakeUpUsd: number;
  readonly wakeUpGpuMinutes: number;
  readonly imagesPerDay: number;
  readonly wakeUpsPerDay: number;
  readonly perDayUsd: number;
  readonly perMonthUsd: number;
  readonly perImageUsd: number;
  readonly usageItems: CostItems;
  /**
   * The GPU bill if it never goes back to zero: every instance up all day. Quotas count images,
   * not GPU time, so requests spaced just past the idle period can keep one instance up.
   */
  readonly worstCaseGpuPerDayUsd: number;
}

/** Parses the arguments and computes the report; throws with a usage message on bad input. */
export function costReport(args: readonly string[], context: Record<string, unknown> = cdkJsonContext()): CostReport {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'images-per-day': { type: 'string', default: '100' },
      'wake-ups-per-day': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const imagesPerDay = count('--images-per-day', values['images-per-day']);
  const wakeUpsPerDay =
    values['wake-ups-per-day'] === undefined ? defaultWakeUpsPerDay(imagesPerDay) : count('--wake-ups-per-day', values['wake-ups-per-day']);
  const config = parseDeploymentConfig(mergeContext(context));
  const settings = costSettings(config);
  const floor = idleMonthlyFloor(settings);
  const wakeUp = wakeUpCost(settings);
  const usage = usageCost(settings, { imagesPerDay, wakeUpsPerDay });
  return {
    region: config.region,
    mode: settings.mode,
    instanceType: settings.instanceType,
    gpuHourlyPriceUsd: settings.gpuHourlyPriceUsd,
    idleMonthlyFloorUsd: floor.totalUsd,
    idleItems: floor.items,
    wakeUpUsd: wakeUp.usd,
    wakeUpGpuMinutes: wakeUp.gpuMinutes,
    imagesPerDay,
    wakeUpsPerDay,
    perDayUsd: usage.perDayUsd,
    perMonthUsd: usage.perMonthUsd,
    perImageUsd: usage.perImageUsd,
    usageItems: usage.items,
    worstCaseGpuPerDayUsd: settings.mode === 'async' ? config.backend.maxInstances * 24 * settings.gpuHourlyPriceUsd : 0,
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
    report.mode === 'async' ? `async GPU endpoint on ${report.instanceType} at $${report.gpuHourlyPriceUsd}/h` : `${report.mode} backend`;
  return [
    `serverless-diffusion cost estimate: ${backend}; ${PRICE_REGION} on-demand prices (deploying to ${report.region})`,
    '',
    `Idle monthly floor: ${usd(report.idleMonthlyFloorUsd)}`,
    ...items(report.idleItems),
    '',
    report.mode === 'async'
      ? `One wake-up from zero: ${usd(report.wakeUpUsd)} (${report.wakeUpGpuMinutes.toFixed(1)} GPU-minutes: boot, idle period, scale-in lag)`
      : 'One wake-up from zero: $0 (no instances to start)',
    '',
    `At ${report.imagesPerDay} images/day with ${report.wakeUpsPerDay} wake-ups/day:`,
    ...items(report.usageItems),
    `    ${'per day (usage only)'.padEnd(28)} ${usd(report.perDayUsd)}`,
    `    ${'per image'.padEnd(28)} ${usd(report.perImageUsd)}`,
    `    ${'per month (with idle floor)'.padEnd(28)} ${usd(report.perMonthUsd)}`,
    ...(report.mode === 'async'
      ? [
          '',
          `Worst case, GPU never idle long enough to stop: ${usd(report.worstCaseGpuPerDayUsd)}/day of GPU time ` +
            `(${usd(report.worstCaseGpuPerDayUsd * 30)}/month); the monthly budget alarm is the backstop.`,
        ]
      : []),
  ].join('\n');
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
    console.log(argv.includes('--json') ? JSON.stringify(report) : formatCostReport(report));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}

if (require.main === module) main(process.argv.slice(2));
