import type { BackendMode, DeploymentConfig } from '../config/deployment-config';
import { keepWarmDaysPerWeek, keepWarmPingsPerDay, type KeepWarmSchedule } from '../config/keep-warm';
import { firewallRuleCount } from '../constructs/api-firewall';
import { GATEWAY_MEMORY_MB } from '../constructs/gateway-function';
import { PUBLISHER_MEMORY_MB } from '../constructs/instance-count-publisher';
import { operationsAlarmNames } from '../constructs/operations-alarms';
import { SCALE_TO_ZERO_ALARM_COUNT } from '../constructs/scale-to-zero';
import { USAGE_ASSUMPTIONS as A } from './assumptions';
import { lambdaPerGbSecond, PRICES as P } from './prices';

const DAYS_PER_MONTH = 30;
const MINUTES_PER_MONTH = DAYS_PER_MONTH * 24 * 60;
const SECONDS_PER_DAY = 24 * 60 * 60;
const GB = 1e9;

/** Everything the estimate needs from a deployment's configuration. */
export interface CostSettings {
  readonly mode: BackendMode;
  readonly instanceType: string;
  readonly gpuHourlyPriceUsd: number;
  readonly maxInstances: number;
  readonly coldStartSeconds: number;
  readonly idleMinutes: number;
  readonly secondsPerImage: number;
  readonly serverlessMemoryMb: number;
  /** The engine function (lambda): its memory, its architecture's price and its timeout. */
  readonly lambdaMemoryMb: number;
  readonly lambdaPerGbSecondUsd: number;
  readonly lambdaTimeoutSeconds: number;
  /** The safety checker's seconds per image on the engine function (lambda), 0 where it does not run. */
  readonly safetyCheckSecondsPerImage: number;
  /** When the engine function is kept warm (lambda); undefined when it is not. */
  readonly keepWarm?: KeepWarmSchedule;
  readonly wafEnabled: boolean;
  /** Rules and rule groups in the web ACL; 0 without WAF. */
  readonly wafRuleCount: number;
  /** CloudWatch alarms billed monthly, including those target tracking creates. */
  readonly alarmCount: number;
  readonly modelGb: number;
  /** The wake-up guard's daily budget (async). */
  readonly gpuMinutesPerDay: number;
  /** The spend guard's images per day, which bound how long traffic can keep the GPU up. */
  readonly globalImagesPerDay: number;
}

export function costSettings(config: DeploymentConfig): CostSettings {
  const { backend } = config;
  return {
    mode: backend.mode,
    instanceType: backend.instanceType,
    gpuHourlyPriceUsd: backend.hourlyPriceUsd,
    maxInstances: backend.maxInstances,
    coldStartSeconds: backend.coldStartSeconds,
    idleMinutes: backend.idleMinutesBeforeScaleIn,
    secondsPerImage: backend.secondsPerImage,
    serverlessMemoryMb: backend.serverlessMemoryMb,
    lambdaMemoryMb: backend.lambdaMemoryMb,
    lambdaPerGbSecondUsd: lambdaPerGbSecond(backend.lambdaArchitecture),
    lambdaTimeoutSeconds: backend.lambdaTimeoutSeconds,
    safetyCheckSecondsPerImage: backend.mode === 'lambda' ? backend.lambdaSafetyCheckSecondsPerImage : 0,
    ...(backend.mode === 'lambda' && backend.keepWarm ? { keepWarm: backend.keepWarm } : {}),
    wafEnabled: config.waf.enabled,
    wafRuleCount: config.waf.enabled ? firewallRuleCount(config.waf) : 0,
    alarmCount: operationsAlarmNames(backend.mode).length + (backend.mode === 'async' ? SCALE_TO_ZERO_ALARM_COUNT : 0),
    modelGb: config.model.kind === 'local' ? config.model.bytes / GB : A.modelGb,
    gpuMinutesPerDay: config.quotas.gpuMinutesPerDay,
    globalImagesPerDay: config.quotas.globalPerDay,
  };
}

export type CostItems = Readonly<Record<string, number>>;

export interface MonthlyFloor {
  readonly totalUsd: number;
  readonly items: CostItems;
}

/**
 * CloudWatch's always-free allowance per account and month (https://aws.amazon.com/cloudwatch/pricing/,
 * "Free tier"). The list-price floor counts none of it, because most accounts already use it.
 */
export const CLOUDWATCH_FREE_TIER = {
  dashboards: 3,
  alarms: 10,
  customMetrics: 10,
  logsGbIngested: 5,
} as const;

/** The deployment's own CloudWatch use in an idle month, which the free tier may cover. */
interface CloudWatchUse {
  readonly dashboards: number;
  readonly alarms: number;
  readonly customMetrics: number;
  readonly logsGbIngested: number;
}

/** What the deployment costs per month when nobody uses it, at list prices. */
export function idleMonthlyFloor(settings: CostSettings): MonthlyFloor {
  return floor(settings, { dashboards: 0, alarms: 0, customMetrics: 0, logsGbIngested: 0 });
}

/**
 * The idle floor in an account whose CloudWatch free tier this deployment has to itself: its one
 * dashboard, its alarms, the publisher's metric and logs fit in it.
 */
export function idleMonthlyFloorFreeTier(settings: CostSettings): MonthlyFloor {
  return floor(settings, CLOUDWATCH_FREE_TIER);
}

function floor(settings: CostSettings, free: CloudWatchUse): MonthlyFloor {
  const billable = (used: number, allowance: number) => Math.max(0, used - allowance);
  const use: CloudWatchUse = {
    dashboards: 1,
    alarms: settings.alarmCount,
    customMetrics: settings.mode === 'async' ? 1 : 0,
    logsGbIngested: settings.mode === 'async' ? (MINUTES_PER_MONTH * A.publisherLogBytesPerRun) / GB : 0,
  };
  const items: Record<string, number> = {};
  if (settings.wafEnabled) items['WAF web ACL and rules'] = P.wafPerWebAclMonth + settings.wafRuleCount * P.wafPerRuleMonth;
  items['Secrets Manager secret'] = P.secretsManagerPerSecretMonth;
  items['CloudWatch alarms'] = billable(use.alarms, free.alarms) * P.cloudWatchPerAlarmMonth;
  items['CloudWatch dashboard'] = billable(use.dashboards, free.dashboards) * P.cloudWatchPerDashboardMonth;
  if (settings.mode !== 'external') {
    // The lambda mode's engine is the CPU image; the SageMaker modes push the CUDA one.
    items['ECR engine image'] = (settings.mode === 'lambda' ? A.lambdaEngineImageGb : A.engineImageGb) * P.ecrPerGbMonth;
    items['S3 model files'] = settings.modelGb * P.s3PerGbMonth;
  }
  if (settings.mode === 'async') {
    const publisherGbSeconds = MINUTES_PER_MONTH * A.publisherSecondsPerRun * (PUBLISHER_MEMORY_MB / 1024);
    items['Instance-count publisher'] =
      (MINUTES_PER_MONTH / 1e6) * P.lambdaPerMillionRequests +
      publisherGbSeconds * P.lambdaPerGbSecond +
      billable(use.logsGbIngested, free.logsGbIngested) * P.cloudWatchLogsPerGbIngested +
      billable(use.customMetrics, free.customMetrics) * P.cloudWatchPerCustomMetricMonth;
  }
  return { totalUsd: sum(items), items };
}

export interface WakeUp {
  readonly usd: number;
  /** Instance-minutes billed for one wake-up with a single request. */
  readonly gpuMinutes: number;
}

/** USD per second of the engine function running, at its memory and architecture. */
function engineFunctionUsdPerSecond(settings: CostSettings): number {
  return (settings.lambdaMemoryMb / 1024) * settings.lambdaPerGbSecondUsd;
}

/**
 * The engine function's bill on the worst day (lambda): every job of the spend guard's daily
 * images running to the timeout, at most every reserved slot busy all day.
 */
export function worstCaseEngineFunctionUsdPerDay(settings: CostSettings): number {
  if (settings.mode !== 'lambda') return 0;
  const seconds = Math.min(settings.maxInstances * SECONDS_PER_DAY, settings.globalImagesPerDay * settings.lambdaTimeoutSeconds);
  return seconds * engineFunctionUsdPerSecond(settings) + (settings.globalImagesPerDay / 1e6) * P.lambdaPerMillionRequests;
}

/**
 * GPU instance-minutes per day in the worst case: the wake-up guard stops new wake-ups once the
 * day's budget is used (the last one may run past it), but a job for an awake GPU still runs and
 * keeps it up for the idle period after it, so traffic that never lets the GPU sleep costs up to
 * the spend guard's daily images times that; never more than every instance all day.
 */
export function worstCaseGpuMinutesPerDay(settings: CostSettings): number {
  if (settings.mode !== 'async') return 0;
  const perImage = settings.secondsPerImage / 60 + settings.idleMinutes + A.scaleInLagMinutes;
  const guarded = settings.gpuMinutesPerDay + wakeUpCost(settings).gpuMinutes + settings.globalImagesPerDay * perImage;
  return Math.min(settings.maxInstances * 24 * 60, guarded);
}

/**
 * One wake-up from zero: boot, the idle period before scale-in, and the scale-in lag (async); a
 * cold start of the engine function, billed as part of its first run (lambda).
 */
export function wakeUpCost(settings: CostSettings): WakeUp {
  if (settings.mode === 'lambda') return { usd: settings.coldStartSeconds * engineFunctionUsdPerSecond(settings), gpuMinutes: 0 };
  if (settings.mode !== 'async') return { usd: 0, gpuMinutes: 0 };
  const gpuMinutes = settings.coldStartSeconds / 60 + settings.idleMinutes + A.scaleInLagMinutes;
  return { usd: (gpuMinutes / 60) * settings.gpuHourlyPriceUsd, gpuMinutes };
}

export interface KeepWarmCost {
  readonly usdPerMonth: number;
  readonly pingsPerMonth: number;
  readonly coldStartsPerMonth: number;
}

/**
 * The keep-warm schedule's month (lambda): every ping billed as a warm one (a request and
 * `keepWarmPingSeconds`), plus one cold start on each day the window applies to, since the
 * environment is gone by the next window's first ping. Recycles Lambda makes inside the window are
 * not counted; EventBridge's scheduled rules are free. Not part of the idle floor: the dashboard
 * measures these runs with the engine function's own.
 */
export function keepWarmCost(settings: CostSettings): KeepWarmCost {
  if (settings.mode !== 'lambda' || !settings.keepWarm) return { usdPerMonth: 0, pingsPerMonth: 0, coldStartsPerMonth: 0 };
  const days = (DAYS_PER_MONTH * keepWarmDaysPerWeek(settings.keepWarm.days)) / 7;
  const pings = days * keepWarmPingsPerDay(settings.keepWarm);
  const perPing = A.keepWarmPingSeconds * engineFunctionUsdPerSecond(settings) + P.lambdaPerMillionRequests / 1e6;
  return { usdPerMonth: pings * perPing + days * wakeUpCost(settings).usd, pingsPerMonth: pings, coldStartsPerMonth: days };
}

export interface Usage {
  readonly imagesPerDay: number;
  readonly wakeUpsPerDay: number;
}

export interface UsageCost {
  readonly perDayUsd: number;
  /** GPU instance-minutes this usage takes per day (async); compare with the wake-up guard's budget. */
  readonly gpuMinutesPerDay: number;
  /** Including the idle floor and the keep-warm schedule. */
  readonly perMonthUsd: number;
  readonly perImageUsd: number;
  readonly items: CostItems;
}

/**
 * S3 per completed image: two PUTs (request, result), a GET per API call (the gateway polls the
 * result) and the download of the image. The dashboard derives S3 cost from image counts with it.
 */
export function s3UsdPerImage(): number {
  return (
    (2 / 1000) * P.s3PerThousandPuts +
    (A.apiRequestsPerImage / 1000) * P.s3PerThousandGets +
    (A.imageBytes / GB) * P.s3TransferOutPerGb
  );
}

/** Wake-ups per day when nothing better is known: visits of a few images each that do not overlap. */
export function defaultWakeUpsPerDay(imagesPerDay: number): number {
  return Math.ceil(imagesPerDay / A.imagesPerWakeUp);
}

/** Daily and monthly cost at a given usage, on top of the idle floor. */
export function usageCost(settings: CostSettings, usage: Usage): UsageCost {
  const { imagesPerDay } = usage;
  const requests = imagesPerDay * A.apiRequestsPerImage;
  const items: Record<string, number> = {};
  // Wake-ups that would add up to more than every instance all day overlap: the GPU just stays up.
  const gpuMinutesPerDay =
    settings.mode === 'async'
      ? Math.min(settings.maxInstances * 24 * 60, usage.wakeUpsPerDay * wakeUpCost(settings).gpuMinutes + (imagesPerDay * settings.secondsPerImage) / 60)
      : 0;
  if (settings.mode === 'async') {
    items['GPU instance time'] = (gpuMinutesPerDay / 60) * settings.gpuHourlyPriceUsd;
  } else if (settings.mode === 'serverless') {
    items['SageMaker serverless'] =
      imagesPerDay * settings.secondsPerImage * (settings.serverlessMemoryMb / 1024) * P.sagemakerServerlessPerGbSecond;
  } else if (settings.mode === 'lambda') {
    // One asynchronous invocation per image; each cold start adds its staging and load time.
    items['Engine function'] =
      imagesPerDay * settings.secondsPerImage * engineFunctionUsdPerSecond(settings) + (imagesPerDay / 1e6) * P.lambdaPerMillionRequests;
    if (settings.safetyCheckSecondsPerImage > 0) items['Safety checker'] = imagesPerDay * settings.safetyCheckSecondsPerImage * engineFunctionUsdPerSecond(settings);
    items['Engine cold starts'] = usage.wakeUpsPerDay * wakeUpCost(settings).usd;
  }
  items['Gateway Lambda'] =
    (requests / 1e6) * P.lambdaPerMillionRequests +
    requests * A.gatewaySecondsPerRequest * (GATEWAY_MEMORY_MB / 1024) * P.lambdaPerGbSecond;
  items['API Gateway'] = (requests / 1e6) * P.apiGatewayRestPerMillionRequests;
  if (settings.wafEnabled) items['WAF requests'] = (requests / 1e6) * P.wafPerMillionRequests;
  items['S3 requests and downloads'] = imagesPerDay * s3UsdPerImage();
  // Without WAF the gateway counts every request (and each POST once more) per address.
  const rateWrites = settings.wafEnabled ? 0 : requests + imagesPerDay;
  // The wake-up guard reads and writes its ledger once per image request.
  const ledger = settings.mode === 'async' ? imagesPerDay : 0;
  items['DynamoDB'] =
    ((imagesPerDay * A.dynamoWritesPerImage + rateWrites + ledger) / 1e6) * P.dynamoDbPerMillionWrites +
    ((requests + ledger) / 1e6) * P.dynamoDbPerMillionReads;
  items['CloudWatch Logs'] = ((requests * A.logBytesPerRequest) / GB) * P.cloudWatchLogsPerGbIngested;
  items['Gateway metrics'] = imagesPerDay > 0 ? (A.gatewayMetricSeries * P.cloudWatchPerCustomMetricMonth) / DAYS_PER_MONTH : 0;
  const perDayUsd = sum(items);
  return {
    perDayUsd,
    gpuMinutesPerDay,
    perMonthUsd: idleMonthlyFloor(settings).totalUsd + keepWarmCost(settings).usdPerMonth + perDayUsd * DAYS_PER_MONTH,
    perImageUsd: imagesPerDay > 0 ? perDayUsd / imagesPerDay : 0,
    items,
  };
}

function sum(items: Record<string, number>): number {
  return Object.values(items).reduce((total, value) => total + value, 0);
}
