/**
 * The gateway's CloudWatch metrics as the cost dashboard and alarms read them: namespace, the one
 * `Service` dimension and the metric names. Pure data, so the infrastructure can import it
 * without pulling Powertools into synth.
 */
export const METRICS_NAMESPACE = 'ServerlessDiffusion';
export const SERVICE_DIMENSION = { name: 'Service', value: 'gateway' } as const;
export const REASON_DIMENSION = 'Reason';

export const METRIC_NAMES = {
  imagesRequested: 'ImagesRequested',
  imagesAccepted: 'ImagesAccepted',
  imagesRejected: 'ImagesRejected',
  imagesCompleted: 'ImagesCompleted',
  imagesFailed: 'ImagesFailed',
  imagesCanceled: 'ImagesCanceled',
  /** Made, counted, and held back by the model's safety checker (also within ImagesCompleted). */
  imagesWithheld: 'ImagesWithheld',
  generationSeconds: 'GenerationSeconds',
} as const;
