/**
 * Downloads one file to disk so that no byte is fetched twice: a connection that breaks off is
 * resumed with a Range request from the bytes already written, a file left half-done by an
 * earlier run is continued, and the result is kept only if it hashes to what the Hub lists.
 * A partial file lives beside its target as `<name>.incomplete` (as huggingface_hub names them).
 */
import type { Hash } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as delay } from 'node:timers/promises';
import { describeDigest, digestFile, startDigest } from './file-digest';
import type { RemoteFile } from './hub-listing';
import { SILENT_PROGRESS, type ProgressSink } from './transfer-progress';

export const PARTIAL_SUFFIX = '.incomplete';

export interface DownloadOptions {
  /** The fetch to use; the caller's decides which origins get credentials. @default fetch */
  readonly fetch?: typeof fetch;
  /** Attempts in a row that move no byte before the file is given up. @default 5 */
  readonly maxRetries?: number;
  /** Wait before the first retry; doubles with each attempt that moves nothing, up to 30 s. @default 1000 */
  readonly retryBaseDelayMs?: number;
  /** A response that sends nothing for this long is cut off and resumed. @default 60000 */
  readonly stallTimeoutMs?: number;
  /** @default - no progress shown */
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

/** How the file came to be in place. */
export type DownloadOutcome = 'downloaded' | 'resumed' | 'unchanged';

/** A file that could not be downloaded or verified; `path` is the file's path in the repository. */
export class DownloadError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'DownloadError';
  }
}

const MAX_RETRY_DELAY_MS = 30_000;
const MAX_REDIRECTS = 10;

/** Why an attempt ended early; the next one continues from the bytes written. */
class RetryableError extends Error {}

export async function downloadVerified(url: string, file: RemoteFile, target: string, options: DownloadOptions = {}): Promise<DownloadOutcome> {
  const progress = options.progress ?? SILENT_PROGRESS;
  if (await hasVerifiedCopy(file, target)) {
    progress.alreadyHave(file.size);
    return 'unchanged';
  }
  await mkdir(dirname(target), { recursive: true });
  const partial = target + PARTIAL_SUFFIX;
  const handle = await open(partial, 'a+');
  try {
    const state = await resumeState(file, partial, handle);
    const resumed = state.offset > 0;
    progress.alreadyHave(state.offset);
    await fetchRemainder(url, file, handle, state, { ...options, progress });
    await handle.close();
    const actual = state.digest.digest('hex');
    if (actual !== file.digest.hex) {
      await unlink(partial);
      throw new DownloadError(
        file.path,
        `${describeDigest(file.digest)} is ${actual} but the Hub lists ${file.digest.hex}; the corrupt download was deleted, run the command again to fetch it anew`,
      );
    }
    await rename(partial, target);
    return resumed ? 'resumed' : 'downloaded';
  } finally {
    await handle.close().catch(() => undefined);
  }
}

interface ResumeState {
  offset: number;
  digest: Hash;
}

/** A complete file from an earlier run counts only if it still hashes right (a revision can move). */
async function hasVerifiedCopy(file: RemoteFile, target: string): Promise<boolean> {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) return false;
  if (existing.size === file.size) {
    const digest = startDigest(file);
    await digestFile(target, digest);
    if (digest.digest('hex') === file.digest.hex) return true;
  }
  await unlink(target);
  return false;
}

/** Continues a partial file: its bytes are hashed again so the digest covers the whole file. */
async function resumeState(file: RemoteFile, partial: string, handle: FileHandle): Promise<ResumeState> {
  const { size } = await handle.stat();
  const digest = startDigest(file);
  if (size > file.size) {
    await handle.truncate(0);
    return { offset: 0, digest };
  }
  await digestFile(partial, digest, size);
  return { offset: size, digest };
}

async function fetchRemainder(url: string, file: RemoteFile, handle: FileHandle, state: ResumeState, options: DownloadOptions & { progress: ProgressSink }): Promise<void> {
  const maxRetries = options.maxRetries ?? 5;
  const baseDelay = options.retryBaseDelayMs ?? 1000;
  let failuresInARow = 0;
  // Progress is a byte never reached before: a server that makes the file start over and breaks
  // off at the same place again does not count as progress.
  let highWater = state.offset;
  while (state.offset < file.size) {
    try {
      await attempt(url, file, handle, state, options);
      if (state.offset < file.size) throw new RetryableError(`the response ended at byte ${state.offset} of ${file.size}`);
    } catch (error) {
      if (!(error instanceof RetryableError) || options.signal?.aborted) throw error;
      failuresInARow = state.offset > highWater ? 1 : failuresInARow + 1;
      highWater = Math.max(highWater, state.offset);
      if (failuresInARow > maxRetries) {
        throw new DownloadError(
          file.path,
          `failed ${failuresInARow} ${failuresInARow === 1 ? 'time' : 'times'} in a row (${error.message}); ${state.offset} of ${file.size} bytes are kept, run the command again to continue`,
        );
      }
      const wait = Math.min(MAX_RETRY_DELAY_MS, baseDelay * 2 ** (failuresInARow - 1));
      options.progress.note(`${file.path}: ${error.message}; continuing from byte ${state.offset} in ${(wait / 1000).toFixed(1)} s`);
      await delay(wait, undefined, { signal: options.signal });
    }
  }
}

/** One request from `state.offset`, appending what arrives; network failures become RetryableError. */
async function attempt(url: string, file: RemoteFile, handle: FileHandle, state: ResumeState, options: DownloadOptions & { progress: ProgressSink }): Promise<void> {
  const stallMs = options.stallTimeoutMs ?? 60_000;
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([stall.signal, options.signal]) : stall.signal;
  let timer = setTimeout(() => stall.abort(), stallMs);
  const keepAlive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), stallMs);
  };
  try {
    const response = await follow(url, state.offset, signal, options.fetch ?? fetch);
    keepAlive();
    const refuse = async (error: Error) => {
      await response.body?.cancel();
      return error;
    };
    if (response.status === 416 && state.offset === file.size) return;
    if (response.status === 200 && state.offset > 0) {
      // The server ignored the Range header: start over rather than append a second copy.
      await restart(handle, state, file, options.progress);
    } else if (response.status === 206) {
      const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (Number(start) !== state.offset) {
        await restart(handle, state, file, options.progress);
        throw await refuse(new RetryableError(`the server answered a Range request from byte ${start ?? '?'} instead`));
      }
    } else if (response.status === 416) {
      await restart(handle, state, file, options.progress);
      throw await refuse(new RetryableError('the server refused to resume (HTTP 416)'));
    } else if (response.status !== 200) {
      throw await refuse(statusError(response.status, file));
    }
    if (!response.body) throw new RetryableError('the response had no body');
    for await (const chunk of Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)) {
      keepAlive();
      const bytes = chunk as Uint8Array;
      const room = file.size - state.offset;
      if (bytes.byteLength > room) throw new DownloadError(file.path, `the server sent more than the ${file.size} bytes the Hub lists`);
      await handle.write(bytes);
      state.digest.update(bytes);
      state.offset += bytes.byteLength;
      options.progress.transferred(bytes.byteLength);
    }
  } catch (error) {
    if (error instanceof DownloadError || error instanceof RetryableError || options.signal?.aborted) throw error;
    throw new RetryableError(stall.signal.aborted ? `no data for ${stallMs / 1000} s` : networkReason(error));
  } finally {
    clearTimeout(timer);
  }
}

/** GET with Range, following redirects by hand so the caller's fetch judges each origin. */
async function follow(url: string, offset: number, signal: AbortSignal, baseFetch: typeof fetch): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    const response = await baseFetch(current, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      redirect: 'manual',
      signal,
    });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    current = new URL(location, current).href;
  }
  throw new RetryableError(`more than ${MAX_REDIRECTS} redirects`);
}

async function restart(handle: FileHandle, state: ResumeState, file: RemoteFile, progress: ProgressSink): Promise<void> {
  await handle.truncate(0);
  progress.discarded(state.offset);
  state.offset = 0;
  state.digest = startDigest(file);
}

function statusError(status: number, file: RemoteFile): Error {
  if (status === 429 || status >= 500) return new RetryableError(`HTTP ${status}`);
  if (status === 401 || status === 403) return new DownloadError(file.path, `the Hub refused the download (HTTP ${status}): set HF_TOKEN and accept the model's licence on its page`);
  return new DownloadError(file.path, `the Hub answered HTTP ${status}`);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
  return `the connection broke off (${message})`;
}
