import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { fileInside } from '../../local/static-files';
import { BodyTooLargeError, readBody, toProxyEvent } from '../../local/proxy-event';
import { loadOrCreateLocalSecrets } from '../../local/local-secrets';
import { EngineHttpClient } from '../../lambda/src/backends/engine-http-client';
import { LocalEngineBackend } from '../../local/local-engine-backend';
import { systemClock } from '../../lambda/src/clock';
import { FileImageStore } from '../../lambda/src/images/file-image-store';
import { FileJobStore } from '../../lambda/src/jobs/file-job-store';
import { createJobId } from '../../lambda/src/jobs/job-id';
import type { JobRecord } from '../../lambda/src/jobs/job';
import { engineResponse } from '../gateway/support/engine-output';

const job = (id: string, prompt = 'p'): JobRecord => ({ id, ref: `ref-${id}`, status: 'queued', created_at: new Date().toISOString(), parameters: { prompt } });

describe('static files', () => {
  it('never resolve outside the root', () => {
    const root = '/srv/site';
    expect(fileInside(root, '/index.html')).toBe('/srv/site/index.html');
    expect(fileInside(root, '/a/../b.js')).toBe('/srv/site/b.js');
    for (const hostile of ['/../etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/x', '/a%00.html', '/..\\..\\x', '/%E0%A4%A']) {
      expect(fileInside(root, hostile)).toBeUndefined();
    }
  });
});

describe('proxy event adapter', () => {
  function incoming(options: { method: string; url: string; headers: string[]; body?: Buffer }) {
    const stream = Readable.from(options.body ? [options.body] : []) as any;
    stream.method = options.method;
    stream.url = options.url;
    stream.rawHeaders = options.headers;
    stream.headers = {};
    stream.httpVersion = '1.1';
    stream.socket = { remoteAddress: '192.0.2.10' };
    return stream;
  }

  it('builds the event API Gateway would send for a {proxy+} resource', () => {
    const event = toProxyEvent(
      incoming({ method: 'POST', url: '/v1/images?x=1&x=2', headers: ['Content-Type', 'application/json', 'X-A', '1', 'X-A', '2'] }),
      Buffer.from('{"prompt":"hi"}'),
    );
    expect(event).toMatchObject({
      httpMethod: 'POST',
      path: '/v1/images',
      resource: '/{proxy+}',
      pathParameters: { proxy: 'v1/images' },
      headers: { 'Content-Type': 'application/json', 'X-A': '2' },
      multiValueHeaders: { 'X-A': ['1', '2'] },
      queryStringParameters: { x: '2' },
      multiValueQueryStringParameters: { x: ['1', '2'] },
      body: '{"prompt":"hi"}',
      isBase64Encoded: false,
      requestContext: { identity: { sourceIp: '192.0.2.10' }, stage: 'local' },
    });
  });

  it('passes bytes that are not UTF-8 as base64, like API Gateway', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const event = toProxyEvent(incoming({ method: 'POST', url: '/v1/images', headers: [] }), bytes);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').equals(bytes)).toBe(true);
  });

  it('stops reading a body past its cap', async () => {
    const request = incoming({ method: 'POST', url: '/', headers: [], body: Buffer.alloc(2048) });
    await expect(readBody(request, 1024)).rejects.toBeInstanceOf(BodyTooLargeError);
    await expect(readBody(incoming({ method: 'POST', url: '/', headers: [], body: Buffer.alloc(10) }), 1024)).resolves.toHaveLength(10);
  });
});

describe('local secret and job files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd-local-parts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the signing key once and keeps it', () => {
    const first = loadOrCreateLocalSecrets(dir);
    expect(first.idSigningKey.length).toBeGreaterThanOrEqual(32);
    expect(loadOrCreateLocalSecrets(dir)).toEqual(first);
  });

  it('keeps jobs on disk across a restart and transitions them once', async () => {
    const jobs = new FileJobStore(join(dir, 'jobs'));
    await jobs.create(job('job-a'));
    expect(await jobs.transition('queued', { ...job('job-a'), status: 'running' })).toBe(true);
    expect(await jobs.transition('queued', { ...job('job-a'), status: 'failed' })).toBe(false);
    const restarted = new FileJobStore(join(dir, 'jobs'));
    expect(await restarted.get(job('job-a'))).toMatchObject({ id: 'job-a', ref: 'ref-job-a', status: 'running' });
    // On disk by reference, and without the id (the caller's credential).
    const onDisk = readFileSync(join(dir, 'jobs', 'ref-job-a.json'), 'utf8');
    expect(JSON.parse(onDisk).status).toBe('running');
    expect(onDisk).not.toContain('"job-a"');
    expect(await restarted.get(job('job-b'))).toBeUndefined();
  });

  it('removes what an earlier version stored under raw job ids, and nothing else', () => {
    const legacyId = createJobId('any key');
    mkdirSync(join(dir, 'legacy', 'jobs'), { recursive: true });
    mkdirSync(join(dir, 'legacy', 'images', legacyId), { recursive: true });
    mkdirSync(join(dir, 'legacy', 'images', 'ref-kept'), { recursive: true });
    writeFileSync(join(dir, 'legacy', 'jobs', `${legacyId}.json`), '{"id":"secret"}');
    writeFileSync(join(dir, 'legacy', 'jobs', 'ref-kept.json'), '{}');
    new FileJobStore(join(dir, 'legacy', 'jobs'));
    new FileImageStore({ dir: join(dir, 'legacy', 'images'), baseUrl: () => '', signingKey: 'k', now: systemClock });
    expect(existsSync(join(dir, 'legacy', 'jobs', `${legacyId}.json`))).toBe(false);
    expect(existsSync(join(dir, 'legacy', 'images', legacyId))).toBe(false);
    expect(existsSync(join(dir, 'legacy', 'jobs', 'ref-kept.json'))).toBe(true);
    expect(existsSync(join(dir, 'legacy', 'images', 'ref-kept'))).toBe(true);
  });

  it('hands out image URLs signed for one key, which expire like presigned S3 URLs', async () => {
    let now = new Date('2026-12-02T10:00:00Z');
    const store = new FileImageStore({ dir: join(dir, 'signed'), baseUrl: () => 'http://local.test', signingKey: 'k', now: () => now });
    const url = new URL(await store.url('ref-a/0.png', 60));
    expect(url.pathname).toBe('/local-images/ref-a/0.png');
    expect(url.searchParams.get('expires')).toBe(String(Date.parse('2026-12-02T10:01:00Z') / 1000));
    expect(store.authorizes('ref-a/0.png', url.searchParams)).toBe(true);
    expect(store.authorizes('ref-b/0.png', url.searchParams)).toBe(false);
    expect(store.authorizes('ref-a/0.png', new URLSearchParams())).toBe(false);
    const forged = new URLSearchParams(url.searchParams);
    forged.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect(store.authorizes('ref-a/0.png', forged)).toBe(false);
    // At most 15 minutes, whatever the job's retention allows.
    expect(new URL(await store.url('ref-a/0.png', 86400)).searchParams.get('expires')).toBe(String(Date.parse('2026-12-02T10:15:00Z') / 1000));
    now = new Date('2026-12-02T10:01:01Z');
    expect(store.authorizes('ref-a/0.png', url.searchParams)).toBe(false);
  });
});

describe('LocalEngineBackend', () => {
  let server: Server;
  let engineUrl: string;
  let script: Array<{ status: number; body: string }> = [];
  const prompts: string[] = [];
  let pingStatus = 200;
  const dir = mkdtempSync(join(tmpdir(), 'sd-local-backend-'));

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/ping') {
          response.writeHead(pingStatus).end('{}');
          return;
        }
        prompts.push(JSON.parse(Buffer.concat(chunks).toString()).prompt);
        const next = script.shift() ?? { status: 500, body: '{}' };
        response.writeHead(next.status, { 'Content-Type': 'application/json' }).end(next.body);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    engineUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    prompts.length = 0;
    pingStatus = 200;
  });

  const backend = (options: { maxQueued?: number; url?: string } = {}) =>
    new LocalEngineBackend({
      client: new EngineHttpClient({ baseUrl: options.url ?? engineUrl }),
      images: new FileImageStore({ dir: join(dir, 'images'), baseUrl: () => 'http://local.test', signingKey: 'local-test-key', now: systemClock }),
      logger: new Logger({ logLevel: 'SILENT' }),
      maxQueued: options.maxQueued,
      now: systemClock,
    });

  async function settle(local: LocalEngineBackend, record: JobRecord): Promise<JobRecord> {
    for (let i = 0; i < 200; i++) {
      const current = await local.refresh(record);
      if (current.status === 'succeeded' || current.status === 'failed') return current;
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error('job did not finish');
  }

  it('runs jobs one at a time in order, waiting out an engine that is still loading', async () => {
    const ok = { status: 200, body: JSON.stringify(await engineResponse(1, 64)) };
    script = [{ status: 503, body: '{"error":{"code":"not_ready","message":"loading"}}' }, ok, ok];
    const local = backend();
    const first = await local.submit(job('one', 'first'));
    const second = await local.submit(job('two', 'second'));
    expect(first.status).toBe('queued');
    const done = await settle(local, second);
    expect(done.status).toBe('succeeded');
    expect((await settle(local, first)).images?.[0]).toMatchObject({ key: 'ref-one/0.png', width: 64 });
    expect(prompts).toEqual(['first', 'first', 'second']);
    await local.close();
  });

  it('ends a job as failed with the engine error when the engine refuses it', async () => {
    script = [{ status: 400, body: JSON.stringify({ error: { code: 'invalid_request', message: 'width too large for this model', field: 'width' } }) }];
    const local = backend();
    const failed = await settle(local, await local.submit(job('bad')));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'invalid_request', message: 'width too large for this model' } });
    await local.close();
  });

  it('fails a job an earlier run of the local server accepted but never ran, instead of leaving it queued', async () => {
    const restarted = backend();
    const orphan = await restarted.refresh(job('from-before-restart'));
    expect(orphan).toMatchObject({ status: 'failed', error: { code: 'interrupted', message: expect.stringMatching(/restarted/) } });
    const finished = { ...job('finished-before'), status: 'succeeded' as const };
    expect(await restarted.refresh(finished)).toBe(finished);
    await restarted.close();
  });

  it('refuses work beyond its queue bound with backend_busy', async () => {
    script = [];
    const local = backend({ maxQueued: 1, url: 'http://127.0.0.1:9' });
    await local.submit(job('q1'));
    await local.submit(job('q2'));
    await expect(local.submit(job('q3'))).rejects.toMatchObject({ code: 'backend_busy', status: 503 });
    await local.close();
  });

  it('reports warming while the engine loads and cold when it cannot be reached', async () => {
    pingStatus = 503;
    expect(await backend().status()).toMatchObject({ state: 'warming', instances: { current: 0, desired: 1 } });
    pingStatus = 200;
    expect(await backend().status()).toMatchObject({ state: 'warm', instances: { current: 1, desired: 1 }, queueDepth: 0 });
    expect((await backend({ url: 'http://127.0.0.1:9' }).status()).state).toBe('cold');
  });
});
