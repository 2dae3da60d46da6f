/**
 * The one list of AWS prices the dashboard's dollar estimates and `npm run cost` use.
 *
 * Assumption: on-demand list prices in us-east-1 (N. Virginia), USD, without free tier, savings
 * plans or taxes. Other regions differ by roughly 5-30 %; set `backend.hourlyPriceUsd` in cdk.json
 * for the GPU (the dominant cost) and treat the rest as an estimate.
 *
 * Sources (read 2025):
 * - SageMaker AI hosting, real-time/async instances and serverless: https://aws.amazon.com/sagemaker/pricing/
 *   (ml.g4dn.xlarge $0.736/h; the same figure appears in several independent pricing tables)
 * - Lambda: https://aws.amazon.com/lambda/pricing/ (Arm)
 * - API Gateway REST APIs: https://aws.amazon.com/api-gateway/pricing/
 * - WAF: https://aws.amazon.com/waf/pricing/ (same in every region)
 * - S3 Standard: https://aws.amazon.com/s3/pricing/
 * - CloudFront: https://aws.amazon.com/cloudfront/pricing/ (North America edge)
 * - DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/
 * - CloudWatch: https://aws.amazon.com/cloudwatch/pricing/
 * - Secrets Manager: https://aws.amazon.com/secrets-manager/pricing/
 * - ECR: https://aws.amazon.com/ecr/pricing/
 */
export const PRICE_REGION = 'us-east-1';

/** SageMaker real-time/async hosting, USD per instance-hour. */
export const SAGEMAKER_HOSTING_HOURLY_USD: Readonly<Record<string, number>> = {
  'ml.g4dn.xlarge': 0.736,
  'ml.g4dn.2xlarge': 0.94,
  'ml.g5.xlarge': 1.408,
  'ml.g5.2xlarge': 1.515,
  'ml.g6.xlarge': 1.127,
  'ml.c5.xlarge': 0.204,
  'ml.c5.2xlarge': 0.408,
  'ml.m5.xlarge': 0.23,
};

export const PRICES = {
  /** SageMaker serverless inference, per GB of configured memory per second of processing. */
  sagemakerServerlessPerGbSecond: 0.00002,
  lambdaPerMillionRequests: 0.2,
  /** Arm (Graviton) price; the gateway and the small functions run on arm64. */
  lambdaPerGbSecond: 0.0000133334,
  /** x86 price, for the engine function on x86_64 (the lambda mode's default). */
  lambdaX86PerGbSecond: 0.0000166667,
  apiGatewayRestPerMillionRequests: 3.5,
  wafPerWebAclMonth: 5,
  /** Each rule or AWS managed rule group in the web ACL. */
  wafPerRuleMonth: 1,
  wafPerMillionRequests: 0.6,
  s3PerThousandPuts: 0.005,
  s3PerThousandGets: 0.0004,
  s3PerGbMonth: 0.023,
  /** Data transfer out to the internet (result images fetched from presigned URLs). */
  s3TransferOutPerGb: 0.09,
  cloudFrontPerTenThousandHttpsRequests: 0.01,
  cloudFrontPerGbOut: 0.085,
  dynamoDbPerMillionWrites: 0.625,
  dynamoDbPerMillionReads: 0.125,
  cloudWatchPerCustomMetricMonth: 0.3,
  cloudWatchPerAlarmMonth: 0.1,
  /** Beyond the three free dashboards per account; counted because most accounts already use them. */
  cloudWatchPerDashboardMonth: 3,
  cloudWatchLogsPerGbIngested: 0.5,
  secretsManagerPerSecretMonth: 0.4,
  ecrPerGbMonth: 0.1,
} as const;

/** USD per hour for a SageMaker instance type, or undefined when the table does not list it. */
export function sagemakerHourlyPrice(instanceType: string): number | undefined {
  return SAGEMAKER_HOSTING_HOURLY_USD[instanceType];
}

/** USD per GB-second of a Lambda function on this architecture. */
export function lambdaPerGbSecond(architecture: 'x86_64' | 'arm64'): number {
  return architecture === 'arm64' ? PRICES.lambdaPerGbSecond : PRICES.lambdaX86PerGbSecond;
}
