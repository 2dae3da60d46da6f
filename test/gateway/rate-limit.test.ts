import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../contract/openapi';
import { readGatewayConfig } from '../../lambda/src/config';
import { GatewayError } from '../../lambda/src/http/errors';
import { MemoryCounterStore } from '../../lambda/src/quota/counter-store';
import { RateLimiter, type RateLimiterOptions } from '../../lambda/src/quota/rate-limiter';
import { awsGateway, BASE_ENV, mocks, resetAws, SITE_ORIGIN, table } from './support/aws-fakes';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const validate = openApiResponseValidator(openApiDocument());
/** 12:00:10 UTC: ten seconds into a 60-second window. */
const noon = new Date('2026-03-14T12:00:10Z');
let clock = noon;
beforeEach(() => {
  clock = noon;
  resetAws();
});

const OPTIONS: RateLimiterOptions = { perIp: 5, createImagePerIp: 2, windowSeconds: 60 };
const limiter = (options: Partial<RateLimiterOptions> = {}) =>
  new RateLimiter(new MemoryCounterStore(() => clock), { ...OPTIONS, ...options }, async (ip) => `hash(${ip})`);

async function outcomes(promises: Array<Promise<unknown>>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const result of await Promise.allSettled(promises)) {
    const key = result.status === 'fulfilled' ? 'admitted' : (result.reason as GatewayError).code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('RateLimiter', () => {
  it('admits exactly the limit per address and window when 30 requests race, and says when the window ends', async () => {
    const rate = limiter();
    expect(await outcomes(Array.from({ length: 30 }, () => rate.admit('198.51.100.1', 'any', clock)))).toEqual({ admitted: 5, rate_limited: 25 });
    const refusal = await rate.admit('198.51.100.1', 'any', clock).catch((error: GatewayError) => error);
    expect(refusal).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 50 });
    // Another address has its own counter.
    await expect(rate.admit('198.51.100.2', 'any', clock)).resolves.toBeUndefined();
  });

  it('starts counting afresh in the next window', async () => {
    const rate = limiter({ perIp: 1 });
    await rate.admit('198.51.100.1', 'any', clock);
    await expect(rate.admit('198.51.100.1', 'any', new Date('2026-03-14T12:00:59Z'))).rejects.toMatchObject({ retryAfterSeconds: 1 });
    clock = new Date('2026-03-14T12:01:00Z');
    await expect(rate.admit('198.51.100.1', 'any', clock)).resolves.toBeUndefined();
  });

  it('holds POST /v1/images to its own, tighter limit', async () => {
    const rate = limiter();
    expect(await outcomes(Array.from({ length: 4 }, () => rate.admit('198.51.100.1', 'createImage', clock)))).toEqual({ admitted: 2, rate_limited: 2 });
    // The general counter is a different one.
    await expect(rate.admit('198.51.100.1', 'any', clock)).resolves.toBeUndefined();
  });

  it('never counts the allow list, IPv4 or IPv6', async () => {
    const rate = limiter({ perIp: 1, exemptCidrs: ['192.0.2.0/24', '2001:db8:1::/48'] });
    for (let i = 0; i < 5; i++) {
      await rate.admit('192.0.2.200', 'any', clock);
      await rate.admit('2001:db8:1:ffff::1', 'createImage', clock);
    }
    await rate.admit('2001:db8:2::1', 'any', clock);
    await expect(rate.admit('2001:db8:2::1', 'any', clock)).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('refuses an allow list entry that is not a CIDR block, naming it', () => {
    expect(() => limiter({ exemptCidrs: ['office'] })).toThrow('"office" is not a CIDR block');
    expect(() => limiter({ exemptCidrs: ['10.0.0.0/33'] })).toThrow('"10.0.0.0/33"');
  });
});

describe('the gateway without WAF', () => {
  const RATE_ENV = {
    RATE_LIMIT_PER_IP: '3',
    RATE_LIMIT_CREATE_IMAGE_PER_IP: '2',
    RATE_LIMIT_WINDOW_SECONDS: '300',
    RATE_LIMIT_EXEMPT_CIDRS: '192.0.2.0/24, 2001:db8::/32',
  };
  const body = (result: APIGatewayProxyResult) => JSON.parse(result.body);
  const status = (ip: string) => apiEvent({ method: 'GET', path: '/v1/status', ip, headers: { Origin: SITE_ORIGIN } });

  it('answers 429 rate_limited with Retry-After, CORS headers and the documented body, on any route', async () => {
    const { gateway } = awsGateway(RATE_ENV, () => clock);
    for (let i = 0; i < 3; i++) expect((await gateway(status('198.51.100.9'))).statusCode).not.toBe(429);
    const refused = await gateway(status('198.51.100.9'));
    expect(refused.statusCode).toBe(429);
    // 12:00:10 is in the window 12:00:00-12:05:00.
    expect(refused.headers).toMatchObject({ 'Retry-After': '290', 'Access-Control-Allow-Origin': SITE_ORIGIN });
    expect(body(refused).error).toMatchObject({ code: 'rate_limited', retry_after_seconds: 290 });
    expect(validate('GET', '/v1/status', 429, body(refused))).toEqual([]);
  });

  it('counts POST /v1/images against the tighter limit too, before any quota is taken', async () => {
    const { gateway } = awsGateway(RATE_ENV, () => clock);
    expect((await gateway(postImages({ prompt: 'one' }, {}, '198.51.100.9'))).statusCode).toBe(202);
    expect((await gateway(postImages({ prompt: 'two' }, {}, '198.51.100.9'))).statusCode).toBe(202);
    const refused = await gateway(postImages({ prompt: 'three' }, {}, '198.51.100.9'));
    expect(refused.statusCode).toBe(429);
    expect(validate('POST', '/v1/images', 429, body(refused))).toEqual([]);
    const quota = [...table.entries()].filter(([key]) => key.startsWith('quota#ip#'));
    expect(quota.map(([, item]) => item.count)).toEqual([2]);
  });

  it('keeps the address only as a keyed hash in its counters', async () => {
    const { gateway } = awsGateway(RATE_ENV, () => clock);
    await gateway(status('198.51.100.9'));
    const keys = [...table.keys()].filter((key) => key.startsWith('rate#'));
    expect(keys).toEqual([expect.stringMatching(/^rate#any#[A-Za-z0-9_-]{22}#1773489600$/)]);
    expect(JSON.stringify([...table.values()])).not.toContain('198.51.100.9');
  });

  it('lets the allow list through without counting it', async () => {
    const { gateway } = awsGateway(RATE_ENV, () => clock);
    for (let i = 0; i < 6; i++) expect((await gateway(status('2001:db8::7'))).statusCode).not.toBe(429);
    expect(mocks.dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('is off when WAF limits the rate (no RATE_LIMIT_PER_IP): no counter is written', async () => {
    const { gateway } = awsGateway({}, () => clock);
    for (let i = 0; i < 5; i++) await gateway(status('198.51.100.9'));
    expect([...table.keys()].filter((key) => key.startsWith('rate#'))).toEqual([]);
  });

  it('fails the cold start naming a missing or malformed variable', () => {
    expect(() => readGatewayConfig({ ...BASE_ENV, RATE_LIMIT_PER_IP: '3' })).toThrow('environment variable RATE_LIMIT_CREATE_IMAGE_PER_IP is required');
    expect(() => readGatewayConfig({ ...BASE_ENV, ...RATE_ENV, RATE_LIMIT_WINDOW_SECONDS: '0' })).toThrow(
      'environment variable RATE_LIMIT_WINDOW_SECONDS must be at least 1',
    );
    expect(() => readGatewayConfig({ ...BASE_ENV, ...RATE_ENV, RATE_LIMIT_EXEMPT_CIDRS: '192.0.2.0/24,nope' })).toThrow(
      'environment variable RATE_LIMIT_EXEMPT_CIDRS: "nope" is not a CIDR block',
    );
  });
});
