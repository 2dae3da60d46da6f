/**
 * `--lora FILE[:SCALE]`: a local safetensors file, or `owner/name/path.safetensors[@REVISION]` on
 * the Hugging Face Hub, downloaded with the same verified, resumable download as `fetch`.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../../container/src/cli/cli-errors';
import { listRemoteFiles } from '../hub-listing';
import { hubFetch, resolveUrl, type HubAccess, type HubSource } from '../hub-source';
import { downloadVerified } from '../resumable-download';
import type { ProgressSink } from '../transfer-progress';
import type { LoraInput } from './fuse-lora';

export interface LoraSpec {
  readonly source: string;
  readonly scale: number;
}

/** `FILE:0.8` → file and scale; the scale defaults to 1. A colon followed by anything but a number stays part of the name. */
export function parseLoraSpec(text: string): LoraSpec {
  const colon = text.lastIndexOf(':');
  const tail = colon < 0 ? '' : text.slice(colon + 1);
  if (colon > 0 && /^-?(\d+\.?\d*|\.\d+)$/.test(tail)) {
    const scale = Number(tail);
    if (!Number.isFinite(scale)) throw new UsageError(`--lora ${text}: the scale must be a number`);
    return { source: text.slice(0, colon), scale };
  }
  if (colon > 0 && tail !== '' && !tail.includes('/') && !tail.includes('\\')) throw new UsageError(`--lora ${text}: the scale after ':' must be a number but is ${JSON.stringify(tail)}`);
  return { source: text, scale: 1 };
}

/** owner/name/path/file.safetensors[@revision] */
const HUB_FILE = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)\/(.+\.safetensors)(?:@([^\s@]+))?$/;

export interface ResolveOptions {
  readonly access: HubAccess;
  /** Where Hub files are kept between runs. */
  readonly cacheDir: string;
  readonly fetch?: typeof fetch;
  readonly progress?: (totalBytes: number) => ProgressSink;
}

export async function resolveLora(spec: LoraSpec, options: ResolveOptions): Promise<LoraInput> {
  const local = await stat(spec.source).then(
    (s) => s.isFile(),
    () => false,
  );
  if (local) return { source: spec.source, file: spec.source, scale: spec.scale };
  const match = HUB_FILE.exec(spec.source);
  if (!match) throw new UsageError(`--lora ${spec.source}: no such file, and not owner/name/path.safetensors on the Hub`);
  const source: HubSource = { repo: match[1], revision: match[3] ?? 'main' };
  const path = match[2];
  const listing = await listRemoteFiles(source, options.access, options.fetch);
  const remote = listing.find((f) => f.path === path);
  if (!remote) {
    const candidates = listing.filter((f) => f.path.endsWith('.safetensors')).map((f) => f.path);
    throw new Error(`${source.repo}@${source.revision} has no ${path}${candidates.length ? `; its safetensors files: ${candidates.slice(0, 10).join(', ')}` : ''}`);
  }
  const target = join(options.cacheDir, source.repo.replace('/', '--'), source.revision, path);
  await downloadVerified(resolveUrl(options.access, source, path), remote, target, {
    fetch: hubFetch(options.access, options.fetch),
    progress: options.progress?.(remote.size),
  });
  return { source: spec.source, file: target, scale: spec.scale };
}
