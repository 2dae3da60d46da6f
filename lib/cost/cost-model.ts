import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { BackendMode, DeploymentConfig } from '../config/deployment-config';
import { firewallRuleCount } from '../constructs/api-firewall';
import { GATEWAY_MEMORY_MB } from '../constructs/gateway-function';
import { PUBLISHER_MEMORY_MB } from '../constructs/instance-count-publisher';
import { operationsAlarmNames } from '../constructs/operations-alarms';
import { SCALE_TO_ZERO_ALARM_COUNT } from '../constructs/scale-to-zero';
import { USAGE_ASSUMPTIONS as A } from './assumptions';
import { PRICES as P } from './prices';

const DAYS_PER_MONTH = 30;
const MINUTES_PER_MONTH = DAYS_PER_MONTH * 24 * 60;
const GB = 1e9;

/** Everything the estimate needs from a deployment's configuration. */
export interface CostSettings {
  readonly mode: BackendMode;
  readonly instanceType: string;
  readonly gpuHourlyPriceUsd: number;
  readonly coldStartSeconds: number;
  readonly idleMinutes: number;
  readonly secondsPerImage: number;
  readonly serverlessMemoryMb: number;
  readonly wafRuleCount: number;
  /** CloudWatch alarms billed monthly, including those target tracking creates. */
  readonly alarmCount: number;
  readonly modelGb: number;
}

export function costSettings(config: DeploymentConfig): CostSettings {
  const { backend } = config;
  return {
    mode: backend.mode,
    instanceType: backend.instanceType,
    gpuHourlyPriceUsd: backend.hourlyPriceUsd,
    coldStartSeconds: backend.coldStartSeconds,
    idleMinutes: backend.idleMinutesBeforeScaleIn,
    secondsPerImage: backend.secondsPerImage,
    serverlessMemoryMb: backend.serverlessMemoryMb,
    wafRuleCount: firewallRuleCount(config.waf),
    alarmCount: operationsAlarmNames(backend.mode).length + (backend.mode === 'async' ? SCALE_TO_ZERO_ALARM_COUNT : 0),
    modelGb: config.model.kind === 'local' ? folderBytes(config.model.path) / GB : A.modelGb,
  };
}

export type CostItems = Readonly<Record<string, number>>;

export interface MonthlyFloor {
  readonly totalUsd: number;
  readonly items: CostItems;
}

/** What the deployment costs per month when nobody uses it. */
export function idleMonthlyFloor(settings: CostSettings): MonthlyFloor {
  const sagemaker = settings.mode !== 'external';
  const items: Record<string, number> = {
    'WAF web ACL and rules': P.wafPerWebAclMonth + settings.wafRuleCount * P.wafPerRuleMonth,
    'Secrets Manager secret': P.secretsManagerPerSecretMonth,
    'CloudWatch alarms': settings.alarmCount * P.cloudWatchPerAlarmMonth,
    'CloudWatch dashboard': P.cloudWatchPerDashboardMonth,
  };
  if (sagemaker) {
    items['ECR engine image'] = A.engineImageGb * P.ecrPerGbMonth;
    items['S3 model files'] = settings.modelGb * P.s3PerGbMonth;
  }
  if (settings.mode === 'async') {
    const publisherGbSeconds = MINUTES_PER_MONTH * A.publisherSecondsPerRun * (PUBLISHER_MEMORY_MB / 1024);
    items['Instance-count publisher'] =
      (MINUTES_PER_MONTH / 1e6) * P.lambdaPerMillionRequests +
      publisherGbSeconds * P.lambdaPerGbSecond +
      ((MINUTES_PER_MONTH * A.publisherLogBytesPerRun) / GB) * P.cloudWatchLogsPerGbIngested +
      P.cloudWatchPerCustomMetricMonth;
  }
  return { totalUsd: sum(items), items };
}

export interface WakeUp {
  readonly usd: number;
  /** Instance-minutes billed for one wake-up with a single request. */
  readonly gpuMinutes: number;
}

/** One wake-up from zero: boot, the idle period before scale-in, and the scale-in lag. */
export function wakeUpCost(settings: CostSettings): WakeUp {
  if (settings.mode !== 'async') return { usd: 0, gpuMinutes: 0 };
  const gpuMinutes = settings.coldStartSeconds / 60 + settings.idleMinutes + A.scaleInLagMinutes;
  return { usd: (gpuMinutes / 60) * settings.gpuHourlyPriceUsd, gpuMinutes };
}

export interface Usage {
  readonly imagesPerDay: number;
  readonly wakeUpsPerDay: number;
}

export interface UsageCost {
  readonly perDayUsd: number;
  /** Including the idle floor. */
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
  if (settings.mode === 'async') {
    items['GPU instance time'] =
      usage.wakeUpsPerDay * wakeUpCost(settings).usd +
      ((imagesPerDay * settings.secondsPerImage) / 3600) * settings.gpuHourlyPriceUsd;
  } else if (settings.mode === 'serverless') {
    items['SageMaker serverless'] =
      imagesPerDay * settings.secondsPerImage * (settings.serverlessMemoryMb / 1024) * P.sagemakerServerlessPerGbSecond;
  }
  items['Lambda'] =
    (requests / 1e6) * P.lambdaPerMillionRequests +
    requests * A.gatewaySecondsPerRequest * (GATEWAY_MEMORY_MB / 1024) * P.lambdaPerGbSecond;
  items['API Gateway'] = (requests / 1e6) * P.apiGatewayRestPerMillionRequests;
  items['WAF requests'] = (requests / 1e6) * P.wafPerMillionRequests;
  items['S3 requests and downloads'] = imagesPerDay * s3UsdPerImage();
  items['DynamoDB'] =
    ((imagesPerDay * A.dynamoWritesPerImage) / 1e6) * P.dynamoDbPerMillionWrites + (requests / 1e6) * P.dynamoDbPerMillionReads;
  items['CloudWatch Logs'] = ((requests * A.logBytesPerRequest) / GB) * P.cloudWatchLogsPerGbIngested;
  items['Gateway metrics'] = imagesPerDay > 0 ? (A.gatewayMetricSeries * P.cloudWatchPerCustomMetricMonth) / DAYS_PER_MONTH : 0;
  const perDayUsd = sum(items);
  return {
    perDayUsd,
    perMonthUsd: idleMonthlyFloor(settings).totalUsd + perDayUsd * DAYS_PER_MONTH,
    perImageUsd: imagesPerDay > 0 ? perDayUsd / imagesPerDay : 0,
    items,
  };
}

function sum(items: Record<string, number>): number {
  return Object.values(items).reduce((total, value) => total + value, 0);
}

function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
  }
  return total;
}
