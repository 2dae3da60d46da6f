import type { Logger } from '@aws-lambda-powertools/logger';
import type { GenerationBackend } from './backends/backend';
import type { GatewayConfig } from './config';
import type { ImageStore } from './images/image-store';
import type { JobStore } from './jobs/job-store';
import type { GatewayMetrics } from './metrics';
import type { QuotaGuard } from './quota/quota-guard';
import type { RateLimiter } from './quota/rate-limiter';
import type { SecretsSource } from './secrets';
import type { GpuTimeGuard } from './spend/gpu-time-guard';
import type { StatusCache } from './status/status-cache';
import type { Clock } from './clock';
import type { WarmUpLock } from './warmup/warmup-lock';

/** Everything the gateway works with; AWS and local mode each assemble their own. */
export interface GatewayDependencies {
  readonly config: GatewayConfig;
  readonly backend: GenerationBackend;
  readonly jobs: JobStore;
  readonly images: ImageStore;
  readonly quota: QuotaGuard;
  /** Per-address rate limit where no WAF stands in front. @default - none */
  readonly rateLimit?: RateLimiter;
  /** The wake-up guard, for a GPU that sleeps. @default - none */
  readonly gpuTime?: GpuTimeGuard;
  /** At most one warm-up in flight per deployment. @default - none: `POST /v1/warmups` starts nothing */
  readonly warmUpLock?: WarmUpLock;
  readonly secrets: SecretsSource;
  readonly status: StatusCache;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** The one clock every part above was built with. */
  readonly now: Clock;
}
