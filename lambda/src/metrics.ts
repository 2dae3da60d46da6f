import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMES, METRICS_NAMESPACE, REASON_DIMENSION, SERVICE_DIMENSION } from '../facts/metrics';

/**
 * Powertools Metrics always adds a lowercase `service` dimension, and `singleMetric()` puts it back
 * after `clearDefaultDimensions()`. A metric with dimensions {service, Service} is a different
 * CloudWatch metric from {Service}, and the dashboard would show nothing; so each dimension set
 * gets its own instance with exactly the dimensions we mean.
 */
function metricsWith(dimensions: Record<string, string>): Metrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions(dimensions);
  return metrics;
}

export interface GatewayMetricsOptions {
  /** Local mode turns EMF off: nothing reads it there. @default true */
  readonly enabled?: boolean;
}

/** Counts images through their life; `flush()` writes the EMF lines at the end of each invocation. */
export class GatewayMetrics {
  private readonly enabled: boolean;
  private readonly main: Metrics;
  private readonly byReason = new Map<string, Metrics>();

  constructor(options: GatewayMetricsOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.main = metricsWith({ [SERVICE_DIMENSION.name]: SERVICE_DIMENSION.value });
  }

  requested(images: number): void {
    this.count(this.main, METRIC_NAMES.imagesRequested, images);
  }

  accepted(images: number): void {
    this.count(this.main, METRIC_NAMES.imagesAccepted, images);
  }

  rejected(reason: string, images: number): void {
    let metrics = this.byReason.get(reason);
    if (!metrics) {
      metrics = metricsWith({ [SERVICE_DIMENSION.name]: SERVICE_DIMENSION.value, [REASON_DIMENSION]: reason });
      this.byReason.set(reason, metrics);
    }
    this.count(metrics, METRIC_NAMES.imagesRejected, images);
  }

  completed(images: number, generationSeconds: number | undefined): void {
    this.count(this.main, METRIC_NAMES.imagesCompleted, images);
    if (this.enabled && generationSeconds !== undefined) {
      this.main.addMetric(METRIC_NAMES.generationSeconds, MetricUnit.Seconds, generationSeconds);
    }
  }

  /** Images of a finished job that the safety checker held back; a job without any writes nothing. */
  withheld(images: number): void {
    if (images > 0) this.count(this.main, METRIC_NAMES.imagesWithheld, images);
  }

  failed(images: number): void {
    this.count(this.main, METRIC_NAMES.imagesFailed, images);
  }

  canceled(images: number): void {
    this.count(this.main, METRIC_NAMES.imagesCanceled, images);
  }

  flush(): void {
    if (!this.enabled) return;
    for (const metrics of [this.main, ...this.byReason.values()]) {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  }

  private count(metrics: Metrics, name: string, value: number): void {
    if (this.enabled) metrics.addMetric(name, MetricUnit.Count, value);
  }
}
