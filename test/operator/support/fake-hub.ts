/**
 * A Hugging Face Hub on 127.0.0.1 that speaks the two endpoints `npm run model -- fetch` uses:
 * the tree listing (`/api/models/{repo}/tree/{revision}`, paginated with a Link header, LFS
 * files carrying their SHA-256) and downloads (`/{repo}/resolve/{revision}/{path}`), which
 * redirect LFS files to a "CDN" on another origin, as the real Hub does. Both honour Range.
 * Faults can be planned per file: a connection cut off or stalled after some bytes, a corrupt
 * body, a server that ignores Range.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, relative } from 'node:path';

export interface FakeFile {
  readonly path: string;
  readonly content: Buffer;
  /** Stored with Git LFS. @default - true for weights and anything over 1 MB */
  readonly lfs?: boolean;
}

export interface FakeRepo {
  readonly id: string;
  /** @default 'main' */
  readonly revision?: string;
  readonly files: readonly FakeFile[];
  /** A gated repository: downloads and listings need `Authorization: Bearer <token>`. */
  readonly token?: string;
}

export interface FaultPlan {
  /** Cut the connection after this many body bytes, on the file's first `times` requests. */
  readonly breakAfter?: { readonly bytes: number; readonly times: number };
  /** Send this many body bytes, then nothing, on the file's first `times` requests. */
  readonly stallAfter?: { readonly bytes: number; readonly times: number };
  /** Serve these bytes instead of the content the listing describes. */
  readonly corruptWith?: Buffer;
  /** Answer Range requests with the whole file and 200. */
  readonly ignoreRange?: boolean;
}

export interface RecordedRequest {
  readonly origin: 'hub' | 'cdn';
  readonly url: string;
  readonly file?: string;
  readonly range?: string;
  readonly authorization?: string;
}

/** Every file under a fixture folder, as the Hub would list it. */
export function filesOf(folder: string, prefix = ''): FakeFile[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return filesOf(path, `${prefix}${name}/`);
    return [{ path: `${prefix}${relative(folder, path)}`, content: readFileSync(path) }];
  });
}

const LFS_BY_NAME = /\.(onnx|onnx_data|pb|bin|safetensors|ckpt)$/;

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Faults by `repo/path`. */
  readonly faults = new Map<string, FaultPlan>();
  /** Body bytes sent, by `repo/path`. */
  readonly bytesServed = new Map<string, number>();
  private readonly requestCounts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private hubServer!: Server;
  private cdnServer!: Server;
  endpoint = '';
  cdnOrigin = '';

  private constructor(
    private readonly repos: readonly FakeRepo[],
    private readonly pageSize: number,
  ) {}

  static async start(repos: readonly FakeRepo[], options: { pageSize?: number } = {}): Promise<FakeHub> {
    const hub = new FakeHub(repos, options.pageSize ?? 1000);
    hub.hubServer = await hub.listen((req, res) => hub.onHub(req, res));
    hub.cdnServer = await hub.listen((req, res) => hub.onCdn(req, res));
    hub.endpoint = `http://127.0.0.1:${(hub.hubServer.address() as AddressInfo).port}`;
    hub.cdnOrigin = `http://127.0.0.1:${(hub.cdnServer.address() as AddressInfo).port}`;
    return hub;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.hubServer, this.cdnServer].map((server) => new Promise((resolve) => server.close(resolve))));
  }

  /** Forgets recorded requests, planned faults and request counts (faults count requests per file). */
  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
    this.bytesServed.clear();
    this.requestCounts.clear();
  }

  /** Requests that fetched the body of one file. */
  downloadsOf(repo: string, path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.file === `${repo}/${path}`);
  }

  private listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
    const server = createServer(handler);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
  }

  private onHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.endpoint);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repoId = tree?.[1] ?? resolve?.[1];
    const revision = decodeURIComponent(tree?.[2] ?? resolve?.[2] ?? '');
    const repo = this.repos.find((candidate) => candidate.id === repoId && (candidate.revision ?? 'main') === revision);
    const path = resolve ? resolve[3].split('/').map(decodeURIComponent).join('/') : undefined;
    const file = path ? repo?.files.find((candidate) => candidate.path === path) : undefined;
    this.requests.push({
      origin: 'hub',
      url: url.pathname + url.search,
      file: file && repo ? `${repo.id}/${file.path}` : undefined,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    if (!repo || (resolve && !file)) return json(res, 404, { error: 'Repository Not Found' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return json(res, 401, { error: 'Access to this model is restricted. You must be authenticated.' });
    }
    if (tree) return this.listTree(url, repo, res);
    if (isLfs(file!)) {
      res.writeHead(302, { Location: `${this.cdnOrigin}/lfs/${sha256(file!.content)}?repo=${encodeURIComponent(repo.id)}` }).end();
      return;
    }
    this.serve(req, res, `${repo.id}/${file!.path}`, file!.content);
  }

  private onCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnOrigin);
    const oid = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const repo = this.repos.find((candidate) => candidate.id === url.searchParams.get('repo'));
    const file = repo?.files.find((candidate) => sha256(candidate.content) === oid);
    this.requests.push({
      origin: 'cdn',
      url: url.pathname + url.search,
      file: file && repo ? `${repo.id}/${file.path}` : undefined,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    if (!file || !repo) return json(res, 404, { error: 'not found' });
    this.serve(req, res, `${repo.id}/${file.path}`, file.content);
  }

  private listTree(url: URL, repo: FakeRepo, res: ServerResponse): void {
    const folders = [...new Set(repo.files.flatMap((file) => file.path.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))];
    const entries = [
      ...folders.map((path) => ({ type: 'directory', oid: gitBlobSha1(Buffer.from(path)), size: 0, path })),
      ...repo.files.map((file) =>
        isLfs(file)
          ? {
              type: 'file',
              oid: gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(file.content)}\nsize ${file.content.length}\n`)),
              size: file.content.length,
              path: file.path,
              lfs: { oid: sha256(file.content), size: file.content.length, pointerSize: 134 },
            }
          : { type: 'file', oid: gitBlobSha1(file.content), size: file.content.length, path: file.path },
      ),
    ];
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const page = entries.slice(cursor, cursor + this.pageSize);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (cursor + this.pageSize < entries.length) {
      const next = new URL(url.href);
      next.searchParams.set('cursor', String(cursor + this.pageSize));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify(page));
  }

  private serve(req: IncomingMessage, res: ServerResponse, key: string, content: Buffer): void {
    const fault = this.faults.get(key) ?? {};
    const attempt = (this.requestCounts.get(key) ?? 0) + 1;
    this.requestCounts.set(key, attempt);
    const body = fault.corruptWith ?? content;
    const range = fault.ignoreRange ? undefined : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = body.length - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
    }
    const slice = body.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, {
      'Content-Length': String(slice.length),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${body.length}` } : {}),
    });
    const cut = fault.breakAfter && attempt <= fault.breakAfter.times ? fault.breakAfter.bytes : undefined;
    const stall = fault.stallAfter && attempt <= fault.stallAfter.times ? fault.stallAfter.bytes : undefined;
    const sent = slice.subarray(0, Math.min(slice.length, cut ?? stall ?? slice.length));
    this.bytesServed.set(key, (this.bytesServed.get(key) ?? 0) + sent.length);
    if (cut !== undefined) {
      res.write(sent, () => setImmediate(() => res.socket?.destroy()));
    } else if (stall !== undefined) {
      res.write(sent);
    } else {
      res.end(sent);
    }
  }
}

function isLfs(file: FakeFile): boolean {
  return file.lfs ?? (LFS_BY_NAME.test(file.path) || file.content.length > 1_000_000);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
