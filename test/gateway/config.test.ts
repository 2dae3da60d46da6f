import { readAwsResourcesConfig, readGatewayConfig, requireEnv } from '../../lambda/src/config';

const base = {
  ALLOWED_ORIGINS: 'https://d111111abcdef8.cloudfront.net, https://images.example.com',
  QUOTA_PER_IP_PER_DAY: '20',
  QUOTA_GLOBAL_PER_DAY: '500',
};
const aws = {
  BACKEND_MODE: 'async',
  ENDPOINT_NAME: 'sd-async',
  JOBS_BUCKET: 'jobs-bucket',
  QUOTAS_AND_JOBS_TABLE: 'quota-table',
  SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway',
};

describe('gateway configuration', () => {
  it('reads the Lambda contract with its defaults', () => {
    const config = readGatewayConfig(base);
    expect(config).toEqual({
      allowedOrigins: ['https://d111111abcdef8.cloudfront.net', 'https://images.example.com'],
      quotaPerIpPerDay: 20,
      quotaGlobalPerDay: 500,
      coldStartSeconds: 300,
      secondsPerImage: 8,
    });
    expect(readAwsResourcesConfig(aws)).toEqual({
      backendMode: 'async',
      endpointName: 'sd-async',
      jobsBucket: 'jobs-bucket',
      inputPrefix: 'inputs/',
      outputPrefix: 'outputs/',
      imagePrefix: 'images/',
      quotasAndJobsTable: 'quota-table',
      secretArn: aws.SECRET_ARN,
      externalUrl: undefined,
      // backend.warmOnVisit is off unless WARM_ON_VISIT says true.
      warmOnVisit: false,
    });
    expect(readAwsResourcesConfig({ ...aws, WARM_ON_VISIT: 'true' }).warmOnVisit).toBe(true);
  });

  it.each(['ALLOWED_ORIGINS', 'QUOTA_PER_IP_PER_DAY', 'QUOTA_GLOBAL_PER_DAY'])(
    'names the missing variable %s',
    (name) => {
      const env: Record<string, string> = { ...base };
      delete env[name];
      expect(() => readGatewayConfig(env)).toThrow(new RegExp(`environment variable ${name} is required`));
    },
  );

  it.each(['BACKEND_MODE', 'ENDPOINT_NAME', 'JOBS_BUCKET', 'QUOTAS_AND_JOBS_TABLE', 'SECRET_ARN'])('names the missing AWS variable %s', (name) => {
    const env: Record<string, string> = { ...aws };
    delete env[name];
    expect(() => readAwsResourcesConfig(env)).toThrow(new RegExp(`${name} is required`));
  });

  it('asks for what each backend mode needs and nothing else', () => {
    const { ENDPOINT_NAME: _unused, ...withoutEndpoint } = aws;
    const external = { ...withoutEndpoint, BACKEND_MODE: 'external' };
    expect(() => readAwsResourcesConfig(external)).toThrow(/EXTERNAL_URL is required/);
    expect(readAwsResourcesConfig({ ...external, EXTERNAL_URL: 'https://gpu.example.net/sd' }).externalUrl).toBe(
      'https://gpu.example.net/sd',
    );
    expect(() => readAwsResourcesConfig({ ...external, EXTERNAL_URL: 'ftp://x' })).toThrow(/EXTERNAL_URL must be an http/);
    // Local mode is assembled by `npm start`; the Lambda knows no such backend.
    expect(() => readAwsResourcesConfig({ ...aws, BACKEND_MODE: 'local' })).toThrow(/BACKEND_MODE must be one of async, serverless, external, lambda but is "local"/);
  });

  it('refuses malformed values, naming the variable and the value', () => {
    expect(() => readAwsResourcesConfig({ ...aws, BACKEND_MODE: 'gpu' })).toThrow(/BACKEND_MODE must be one of async, serverless, external, lambda but is "gpu"/);
    expect(() => readGatewayConfig({ ...base, QUOTA_PER_IP_PER_DAY: '10.5' })).toThrow(/QUOTA_PER_IP_PER_DAY must be a whole number but is "10.5"/);
    expect(() => readGatewayConfig({ ...base, QUOTA_GLOBAL_PER_DAY: '-1' })).toThrow(/QUOTA_GLOBAL_PER_DAY/);
    expect(() => readGatewayConfig({ ...base, ALLOWED_ORIGINS: 'https://example.com/' })).toThrow(/ALLOWED_ORIGINS .* "https:\/\/example.com\/"/);
    expect(() => readGatewayConfig({ ...base, ALLOWED_ORIGINS: '*' })).toThrow(/ALLOWED_ORIGINS/);
    expect(() => readGatewayConfig({ ...base, COLD_START_SECONDS: 'soon' })).toThrow(/COLD_START_SECONDS must be a positive number/);
    expect(() => readAwsResourcesConfig({ ...aws, JOBS_PREFIX_OUTPUT: 'outputs' })).toThrow(/JOBS_PREFIX_OUTPUT must be a key prefix/);
  });

  it('requireEnv treats blank as missing', () => {
    expect(() => requireEnv({ X: '  ' }, 'X')).toThrow('environment variable X is required');
    expect(requireEnv({ X: ' y ' }, 'X')).toBe('y');
  });
});
