/**
 * `npm run model -- fetch`: one revision of an SD 1.x ONNX export from the Hugging Face Hub into a
 * folder the engine loads, taking only the files it reads, verifying each against the Hub's
 * listing, and ending with the engine's own model-folder check.
 */
import { join } from 'node:path';
import { readModelFolder, type ModelFolder } from '../../container/src/engine/model/model-folder';
import { describeDigest } from './file-digest';
import { listRemoteFiles, type RemoteFile } from './hub-listing';
import { hubFetch, resolveUrl, type HubAccess, type HubSource } from './hub-source';
import { ONNX_MARKER, selectModelFiles } from './model-files';
import { DownloadError, downloadVerified, type DownloadOptions, type DownloadOutcome } from './resumable-download';
import { formatBytes, SILENT_PROGRESS, type ProgressSink } from './transfer-progress';

export interface FetchModelOptions {
  readonly source: HubSource;
  readonly access: HubAccess;
  readonly outDir: string;
  /** Also take diffusers' safety checker and its feature extractor. @default false */
  readonly withSafetyChecker?: boolean;
  /** Retry, stall and abort settings for each file. @default - those of downloadVerified */
  readonly download?: Omit<DownloadOptions, 'fetch' | 'progress'>;
  /** @default fetch */
  readonly fetch?: typeof fetch;
  /** Makes the progress display once the total size is known. @default - none */
  readonly progress?: (totalBytes: number) => ProgressSink;
}

export interface FetchModelResult {
  readonly files: readonly RemoteFile[];
  readonly bytes: number;
  readonly outcomes: Readonly<Record<DownloadOutcome, number>>;
  readonly skipped: number;
  /** What the engine read from the folder. */
  readonly folder: ModelFolder;
}

export async function fetchModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const { source, access } = options;
  const listing = await listRemoteFiles(source, access, options.fetch);
  const { take, skip } = selectModelFiles(listing, { withSafetyChecker: options.withSafetyChecker });
  if (!take.some((file) => file.path === ONNX_MARKER)) {
    throw new Error(
      `${source.repo}@${source.revision} has no ${ONNX_MARKER}, so it is not an ONNX export; ONNX exports often live on a branch (e.g. ${source.repo}@onnx)`,
    );
  }
  const bytes = take.reduce((sum, file) => sum + file.size, 0);
  const progress = options.progress?.(bytes) ?? SILENT_PROGRESS;
  progress.note(
    `${source.repo}@${source.revision}: ${take.length} files (${formatBytes(bytes)}) into ${options.outDir}; ` +
      `${skip.length} skipped (${summarizeSkips(skip)})`,
  );

  const fetchWithToken = hubFetch(access, options.fetch);
  const outcomes: Record<DownloadOutcome, number> = { downloaded: 0, resumed: 0, unchanged: 0 };
  const failures: DownloadError[] = [];
  for (const file of take) {
    progress.current(file.path);
    try {
      const outcome = await downloadVerified(resolveUrl(access, source, file.path), file, join(options.outDir, file.path), {
        ...options.download,
        fetch: fetchWithToken,
        progress,
      });
      outcomes[outcome] += 1;
      progress.note(`${file.path}: ${outcome === 'unchanged' ? 'already here' : outcome}, ${formatBytes(file.size)}, ${describeDigest(file.digest)} verified`);
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      failures.push(error);
      progress.note(error.message);
    }
  }
  if (failures.length > 0) {
    progress.done(`${failures.length} of ${take.length} files failed`);
    throw new Error(`${failures.length} of ${take.length} files failed: ${failures.map((failure) => failure.message).join('; ')}`);
  }

  let folder: ModelFolder;
  try {
    folder = await readModelFolder(options.outDir);
  } catch (error) {
    throw new Error(`every file arrived and verified, but the engine refuses ${options.outDir}: ${(error as Error).message}`);
  }
  progress.done(`${take.length} files, ${formatBytes(bytes)}, verified; the engine's model-folder check passes`);
  return { files: take, bytes, outcomes, skipped: skip.length, folder };
}

/** "3 PyTorch / safetensors weights, 2 safety checker …" */
function summarizeSkips(skip: ReadonlyArray<{ readonly reason: string }>): string {
  const counts = new Map<string, number>();
  for (const { reason } of skip) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} × ${reason}`).join('; ') || 'nothing';
}
