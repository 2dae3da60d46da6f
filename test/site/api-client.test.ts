import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, parseRetryAfter } from '../../site/src/api-client';
import { ApiError, CLIENT_ERROR_CODES } from '../../site/src/api-error';

/** A real HTTP server answering each path with what the test sets, so the client parses real responses. */
interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

let server: Server;
let base: string;
const answers = new Map<string, Answer>();
const seen: Array<{ method?: string; url?: string; body: string; type?: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, type: req.headers['content-type'] });
      const answer = answers.get(`${req.method} ${req.url}`) ?? { status: 404, body: '{"error":{"code":"not_found","message":"no route"}}' };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers.clear();
  seen.length = 0;
});

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as ApiError);

describe('ApiClient', () => {
  it('asks for a warm-up with a bodiless POST and returns the state and whether it is warming', async () => {
    answers.set('POST /v1/warmups', { status: 200, body: JSON.stringify({ state: 'cold', warming: true }) });
    const client = new ApiClient(base, 'http://page.example/');
    expect(await client.warmUp()).toEqual({ state: 'cold', warming: true });
    expect(seen).toEqual([expect.objectContaining({ method: 'POST', url: '/v1/warmups', body: '' })]);
    answers.set('POST /v1/warmups', { status: 200, body: JSON.stringify({ state: 'cold' }) });
    expect(await failure(client.warmUp())).toMatchObject({ code: CLIENT_ERROR_CODES.badAnswer });
  });

  it('posts the request as JSON and returns the accepted job', async () => {
    answers.set('POST /api/v1/images', { status: 202, body: JSON.stringify({ id: 'j1', status: 'queued', created_at: 'now', parameters: {} }) });
    const client = new ApiClient(`${base}/api/`, 'http://page.example/');
    const job = await client.createImage({ prompt: 'a fox', steps: 3 });
    expect(job.id).toBe('j1');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/images', type: 'application/json' });
    expect(JSON.parse(seen[0].body)).toEqual({ prompt: 'a fox', steps: 3 });
  });

  it('turns the API error shape into an ApiError with field and retry time', async () => {
    answers.set('POST /v1/images', {
      status: 400,
      body: JSON.stringify({ error: { code: 'invalid_request', message: 'steps must be at most 50', field: 'steps', request_id: 'r1' } }),
    });
    const error = await failure(new ApiClient(base, 'http://x/').createImage({ prompt: 'x', steps: 99 }));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', field: 'steps', requestId: 'r1', message: 'steps must be at most 50' });
  });

  it('reads the retry time from the header when the body lacks it', async () => {
    answers.set('GET /v1/images/abc', {
      status: 429,
      body: JSON.stringify({ error: { code: 'quota_exceeded', message: 'slow down' } }),
      headers: { 'retry-after': '120' },
    });
    const error = await failure(new ApiClient(base, 'http://x/').getImage('abc'));
    expect(error).toMatchObject({ code: 'quota_exceeded', retryAfterSeconds: 120 });
  });

  it('names answers that are not the API JSON, and unreachable servers', async () => {
    answers.set('GET /v1/status', { status: 403, body: '<html>Forbidden by WAF</html>' });
    expect(await failure(new ApiClient(base, 'http://x/').getStatus())).toMatchObject({ status: 403, code: CLIENT_ERROR_CODES.badAnswer });
    expect(await failure(new ApiClient('http://127.0.0.1:1', 'http://x/').getStatus())).toMatchObject({ status: 0, code: CLIENT_ERROR_CODES.network });
  });

  it('escapes job ids in the path', async () => {
    await failure(new ApiClient(base, 'http://x/').getImage('a/b?c'));
    expect(seen[0].url).toBe('/v1/images/a%2Fb%3Fc');
  });

  it('resolves relative image URLs against the API, or the page when they share an origin', () => {
    expect(new ApiClient('https://api.example/prod', 'https://site.example/').resolveUrl('/local/img.png')).toBe('https://api.example/local/img.png');
    expect(new ApiClient('https://api.example/prod', 'https://site.example/').resolveUrl('files/img.png')).toBe('https://api.example/prod/files/img.png');
    expect(new ApiClient('', 'http://127.0.0.1:8787/').resolveUrl('/images/a.png')).toBe('http://127.0.0.1:8787/images/a.png');
    expect(new ApiClient('', 'http://127.0.0.1:8787/').resolveUrl('https://bucket.s3.amazonaws.com/a.png?X-Amz=1')).toBe(
      'https://bucket.s3.amazonaws.com/a.png?X-Amz=1',
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:05:00 GMT', now)).toBe(300);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
