/**
 * Usage figures the cost estimate cannot read from configuration. Each is a round estimate for
 * SD 1.x on this kit; the dashboard shows the measured truth once the site runs.
 */
export const USAGE_ASSUMPTIONS = {
  /** Compressed size of the CUDA engine image in ECR. */
  engineImageGb: 3,
  /** Compressed size of the CPU engine image (lambda mode: the Lambda Node base, onnxruntime's CPU build, sharp). */
  lambdaEngineImageGb: 0.5,
  /** SD 1.5 in fp16 ONNX (text encoder, UNet, VAE decoder). */
  modelGb: 2.2,
  /**
   * Minutes between the idle alarm firing and the instance being gone: the alarm sees one-minute
   * periods a minute or two late, and termination takes a moment.
   */
  scaleInLagMinutes: 2,
  /** Visitors make a few images per visit; one wake-up serves them all. */
  imagesPerWakeUp: 5,
  /** API calls per image: the POST, the page's status checks and its polling until done. */
  apiRequestsPerImage: 15,
  /** Average billed duration of one gateway invocation. */
  gatewaySecondsPerRequest: 0.15,
  /** Gateway DynamoDB writes per image: two quota counters, the job record and its updates. */
  dynamoWritesPerImage: 5,
  /** A 512x512 PNG, as downloaded by the page from S3. */
  imageBytes: 400_000,
  /** Gateway log lines per API request. */
  logBytesPerRequest: 1_500,
  /** The instance-count publisher runs once a minute for this long. */
  publisherSecondsPerRun: 0.3,
  /** Log lines and the EMF record per publisher run. */
  publisherLogBytesPerRun: 1_000,
  /**
   * Billed duration of a keep-warm ping that finds the environment warm: the handler finds the
   * engine loaded and returns, some milliseconds (not measured on Lambda), rounded up generously.
   */
  keepWarmPingSeconds: 0.1,
  /** Gateway metric series (names times Reason values) that exist in a month with traffic. */
  gatewayMetricSeries: 8,
} as const;
