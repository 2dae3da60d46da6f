/**
 * `npm run model -- fetch REPO --tiny-vae REPO2`: the decoder of a TAESD ONNX export (e.g.
 * `deinferno/taesd-onnx`, Hub layout `vae_decoder/model.onnx` + `config.json`) into `taesd/` inside
 * the model folder, where the engine looks for it. Same listing, checksum verification and resume
 * as the model itself.
 */
import { join } from 'node:path';
import { readTinyVaeFolder, TINY_VAE_FOLDER, type TinyVaeFolder } from '../../container/src/engine/decoder/tiny-vae-folder';
import { listRemoteFiles, type RemoteFile } from './hub-listing';
import { hubFetch, resolveUrl, type HubAccess, type HubSource } from './hub-source';
import { DownloadError, downloadVerified, type DownloadOptions, type DownloadOutcome } from './resumable-download';
import { formatBytes, SILENT_PROGRESS, type ProgressSink } from './transfer-progress';

export interface FetchTinyVaeOptions {
  readonly source: HubSource;
  readonly access: HubAccess;
  /** The model folder; the decoder goes into its `taesd/`. */
  readonly modelDir: string;
  readonly download?: Omit<DownloadOptions, 'fetch' | 'progress'>;
  /** @default fetch */
  readonly fetch?: typeof fetch;
  /** @default - none */
  readonly progress?: (totalBytes: number) => ProgressSink;
}

export interface FetchTinyVaeResult {
  readonly files: readonly RemoteFile[];
  readonly outcomes: Readonly<Record<DownloadOutcome, number>>;
  readonly folder: TinyVaeFolder;
}

/** The decoder's graph, its external data and its config; the encoder is not needed for decoding. */
function isDecoderFile(path: string): boolean {
  const [folder, name, ...deeper] = path.split('/');
  return folder === 'vae_decoder' && deeper.length === 0 && name !== undefined && !name.startsWith('.') && (name === 'config.json' || /^model\.onnx(_data)?$/.test(name));
}

export async function fetchTinyVae(options: FetchTinyVaeOptions): Promise<FetchTinyVaeResult> {
  const { source, access } = options;
  const take = (await listRemoteFiles(source, access, options.fetch)).filter((file) => isDecoderFile(file.path));
  if (!take.some((file) => file.path === 'vae_decoder/model.onnx')) {
    throw new Error(`${source.repo}@${source.revision} has no vae_decoder/model.onnx, so it is not a tiny VAE (TAESD) ONNX export in the Hub layout`);
  }
  const outDir = join(options.modelDir, TINY_VAE_FOLDER);
  const bytes = take.reduce((sum, file) => sum + file.size, 0);
  const progress = options.progress?.(bytes) ?? SILENT_PROGRESS;
  progress.note(`${source.repo}@${source.revision}: ${take.length} tiny VAE files (${formatBytes(bytes)}) into ${outDir}`);
  const fetchWithToken = hubFetch(access, options.fetch);
  const outcomes: Record<DownloadOutcome, number> = { downloaded: 0, resumed: 0, unchanged: 0 };
  const failures: string[] = [];
  for (const file of take) {
    progress.current(file.path);
    try {
      const outcome = await downloadVerified(resolveUrl(access, source, file.path), file, join(outDir, file.path), { ...options.download, fetch: fetchWithToken, progress });
      outcomes[outcome] += 1;
      progress.note(`${TINY_VAE_FOLDER}/${file.path}: ${outcome === 'unchanged' ? 'already here' : outcome}, ${formatBytes(file.size)}, verified`);
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      failures.push(error.message);
      progress.note(error.message);
    }
  }
  if (failures.length > 0) {
    progress.done(`${failures.length} of ${take.length} tiny VAE files failed`);
    throw new Error(`${failures.length} of ${take.length} tiny VAE files failed: ${failures.join('; ')}`);
  }
  const folder = await readTinyVaeFolder(outDir);
  progress.done(`tiny VAE: ${take.length} files, ${formatBytes(bytes)}, verified (scaling_factor ${folder.scalingFactor})`);
  return { files: take, outcomes, folder };
}
