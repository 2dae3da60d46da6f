import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LIMITS } from '../../contract/limits';
import { startLocalStack, type LocalStack } from '../../local/local-stack';
import { GATEWAY_ERROR_CODES as ERROR_CODES } from '../../contract/errors';
import { closeIdleSockets, httpCall, type HttpResult } from '../gateway/support/http';

const MODEL = resolve(__dirname, '..', 'fixtures', 'oracle', 'models', 'tiny-sd');

/** Deterministic PRNG (mulberry32), so a failing case can be replayed from its index. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

const JSON_TYPE = { 'Content-Type': 'application/json' };

/** Percent-encodes every UTF-8 byte (lone surrogates included, which encodeURIComponent refuses). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** Builds hostile requests that are invalid by construction; none may be accepted or cause a 5xx. */
function hostileCases(count: number, next: () => number): FuzzCase[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const int = (max: number) => Math.floor(next() * max);
  const randomBytes = (length: number) => Buffer.from(Array.from({ length }, () => int(256)));
  const randomText = (length: number) =>
    Array.from({ length }, () => String.fromCharCode(pick([int(0x80), 0x2028, 0xfffd, 0xd800 + int(0x800), 0x1f600 + int(80)]))).join('');
  const randomValue = (depth = 0): unknown => {
    switch (depth > 3 ? int(5) : int(7)) {
      case 0: return null;
      case 1: return next() * 1e12 - 5e11;
      case 2: return randomText(int(40));
      case 3: return next() < 0.5;
      case 4: return int(2 ** 31);
      case 5: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      default: return Object.fromEntries(Array.from({ length: int(4) }, () => [randomText(int(8)), randomValue(depth + 1)]));
    }
  };
  const badFields: Array<() => Record<string, unknown>> = [
    () => ({ steps: pick([0, -1, LIMITS.stepsMax + 1 + int(1000), 2.5, '20', null, [], {}]) }),
    () => ({ guidance_scale: pick([-0.01, LIMITS.guidanceScaleMax + 0.01, 'high', null, true]) }),
    () => ({ width: pick([LIMITS.sizeMin - 8, LIMITS.sizeMax + 8, 100, 512.5, '512', -512]) }),
    () => ({ height: pick([0, 2 ** 40, 7, 'tall']) }),
    () => ({ width: LIMITS.sizeMax, height: LIMITS.sizeMax }),
    () => ({ seed: pick([-1, LIMITS.seedMax + 1, 1.5, '42', Number.MAX_SAFE_INTEGER + 2]) }),
    () => ({ scheduler: pick(['heun', 'PNDM', '', 'pndm ', '__proto__', randomText(10)]) }),
    () => ({ num_images: pick([0, LIMITS.numImagesMax + 1, 100, -3, '2']) }),
    () => ({ output_format: pick(['gif', 'PNG', 'image/png', '', 'exe']) }),
    () => ({ negative_prompt: pick([7, null, ['a'], 'n'.repeat(LIMITS.negativePromptMaxLength + 1)]) }),
    () => ({ prompt: pick([42, null, '', '   ', '\n\t', ['x'], { text: 'x' }, 'p'.repeat(LIMITS.promptMaxLength + 1)]) }),
    () => ({ [pick(['constructor', 'admin', 'callback', 'model', randomText(6)])]: randomValue() }),
  ];

  const generators: Array<() => FuzzCase> = [
    // Bytes that are not JSON (or not UTF-8) declared as JSON.
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: randomBytes(1 + int(2000)) }),
    // Valid JSON that is not a request object.
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: JSON.stringify(pick([randomValue(), [], 'prompt', 0, null, true])) }),
    // A request with one bad field.
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: JSON.stringify({ prompt: 'a cat', ...pick(badFields)() }) }),
    // Prototype pollution attempts (JSON.parse makes these own keys; the schema is strict).
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: pick(['{"prompt":"x","__proto__":{"admin":true}}', '{"prompt":"x","constructor":{"prototype":{"steps":1}}}']) }),
    // Truncated and deeply nested JSON.
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: JSON.stringify({ prompt: 'x', steps: 5 }).slice(0, int(20)) }),
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: '['.repeat(1000 + int(7000)) + ']'.repeat(int(10)) }),
    // Too large for the shared limit, up to the local adapter's cap.
    () => ({ method: 'POST', path: '/v1/images', headers: JSON_TYPE, body: JSON.stringify({ prompt: 'x'.repeat(LIMITS.maxBodyBytes + int(900_000)) }) }),
    // Wrong or missing content type for an otherwise valid body.
    () => ({
      method: 'POST',
      path: '/v1/images',
      headers: pick([{ 'Content-Type': 'text/plain' }, { 'Content-Type': 'multipart/form-data; boundary=x' }, { 'Content-Type': 'application/xml' }, {}]),
      body: JSON.stringify({ prompt: 'a cat' }),
    }),
    // Methods the API does not have.
    () => ({ method: pick(['PUT', 'DELETE', 'PATCH', 'TRACE']), path: pick(['/v1/images', '/v1/status', '/v1/openapi.json']), body: randomText(int(30)) }),
    () => ({ method: pick(['PUT', 'PATCH', 'TRACE']), path: '/v1/images/abc', body: randomText(int(30)) }),
    () => ({ method: 'POST', path: pick(['/v1/status', '/v1/openapi.json']), headers: JSON_TYPE, body: '{"prompt":"x"}' }),
    // Ids that were never issued, forged or hostile, read or canceled.
    () => ({ method: pick(['GET', 'DELETE']), body: pick([undefined, randomText(int(40))]), path: `/v1/images/${pick([
      Buffer.from(randomBytes(32)).toString('base64url'),
      percentEncode(randomText(int(60))),
      '..%2F..%2F..%2Fetc%2Fpasswd',
      '%00',
      '%E0%A4%A',
      'A'.repeat(int(5000)),
    ])}` }),
    // Paths that do not exist, including traversal into the data folder.
    () => ({ method: 'GET', path: pick([
      `/v1/${percentEncode(randomText(int(20)))}`,
      '/v1/images/a/b',
      '/v2/images',
      '/v1//images',
      '/local-images/..%2Fgateway-secret.json',
      '/local-images/%2e%2e/gateway-secret.json',
      '/..%2f..%2fpackage.json',
      `/${percentEncode(randomText(int(30)))}`,
    ]) }),
    // Preflights from origins that are not allowed.
    () => ({ method: 'OPTIONS', path: '/v1/images', headers: { Origin: pick(['https://evil.example', 'null', randomText(10).replace(/[^\x20-\x7e]/g, 'x')]), 'Access-Control-Request-Method': 'POST' } }),
    // Non-API methods on the static part.
    () => ({ method: pick(['POST', 'PUT', 'DELETE']), path: pick(['/', '/index.html', '/config.json']), body: 'x' }),
  ];
  return Array.from({ length: count }, () => pick(generators)());
}

function isErrorShape(result: HttpResult): boolean {
  let parsed: any;
  try {
    parsed = result.json();
  } catch {
    return false;
  }
  const error = parsed?.error;
  return (
    Object.keys(parsed).length === 1 &&
    typeof error?.code === 'string' &&
    (ERROR_CODES as readonly string[]).includes(error.code) &&
    typeof error.message === 'string' &&
    (error.field === undefined || typeof error.field === 'string')
  );
}

describe('local gateway under hostile input', () => {
  let stack: LocalStack;
  const dataDir = mkdtempSync(join(tmpdir(), 'sd-local-fuzz-'));

  beforeAll(async () => {
    stack = await startLocalStack({ modelDir: MODEL, port: 0, dataDir, env: { QUOTA_PER_IP_PER_DAY: '5', QUOTA_GLOBAL_PER_DAY: '5' } });
    await stack.engineReady;
  }, 60_000);

  afterAll(async () => {
    closeIdleSockets();
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 1,200 malformed or hostile requests with 4xx in the error shape, then still generates', async () => {
    const cases = hostileCases(1200, random(20260314));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let start = 0; start < cases.length; start += 16) {
      const batch = cases.slice(start, start + 16);
      const results = await Promise.all(
        batch.map((fuzz, offset) =>
          httpCall(`${stack.url}${fuzz.path}`, fuzz).catch((error: Error) => {
            throw new Error(`#${start + offset} ${fuzz.method} ${fuzz.path.slice(0, 80)}: ${error.message}`);
          }),
        ),
      );
      results.forEach((result, offset) => {
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
        if (result.status < 400 || result.status >= 500 || !isErrorShape(result)) {
          const fuzz = batch[offset];
          failures.push(`#${start + offset} ${fuzz.method} ${fuzz.path.slice(0, 80)} → ${result.status} ${result.body.toString().slice(0, 200)}`);
        }
      });
    }
    expect(failures).toEqual([]);
    // Every kind of refusal was exercised, not just one.
    for (const status of [400, 403, 404, 405, 413, 415]) expect(statuses.get(status)).toBeGreaterThan(0);

    const accepted = await httpCall(`${stack.url}/v1/images`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ prompt: 'still working', width: 64, height: 64, steps: 2 }),
    });
    expect(accepted.status).toBe(202);
    let job = accepted.json();
    for (let i = 0; i < 300 && job.status !== 'succeeded' && job.status !== 'failed'; i++) {
      await new Promise((done) => setTimeout(done, 100));
      job = (await httpCall(`${stack.url}/v1/images/${job.id}`)).json();
    }
    expect(job.status).toBe('succeeded');
    expect((await httpCall(job.images[0].url)).status).toBe(200);
  }, 180_000);
});
