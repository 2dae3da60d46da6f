/**
 * `npm run model -- fetch`: one revision of an SD 1.x ONNX export from the Hugging Face Hub into a
 * folder the engine loads, taking only the files it reads, verifying each against the Hub's
 * listing, and ending with the engine's own model-folder check.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAFETY_CHECKER_MODEL } from '../../contract/safety';
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
  /**
   * diffusers' safety checker and its feature extractor: `required` takes them when the revision's
   * `model_index.json` requires a checker (`requires_safety_checker`), `always` whenever they are
   * there, `never` not at all. @default 'required'
   */
  readonly safetyChecker?: SafetyCheckerFetch;
  /** Retry, stall and abort settings for each file. @default - those of downloadVerified */
  readonly download?: Omit<DownloadOptions, 'fetch' | 'progress'>;
  /** @default fetch */
  readonly fetch?: typeof fetch;
  /** Makes the progress display once the total size is known. @default - none */
  readonly progress?: (totalBytes: number) => ProgressSink;
}

const MODEL_INDEX = 'model_index.json';

export const SAFETY_CHECKER_FETCH = ['required', 'always', 'never'] as const;
export type SafetyCheckerFetch = (typeof SAFETY_CHECKER_FETCH)[number];

export interface FetchModelResult {
  readonly files: readonly RemoteFile[];
  readonly bytes: number;
  readonly outcomes: Readonly<Record<DownloadOutcome, number>>;
  readonly skipped: number;
  /** What the engine read from the folder. */
  readonly folder: ModelFolder;
  /** Whether the safety checker was taken, and whether the model asks for one. */
  readonly safetyChecker: { readonly taken: boolean; readonly required: boolean };
}

export async function fetchModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const { source, access } = options;
  const listing = await listRemoteFiles(source, access, options.fetch);
  if (!listing.some((file) => file.path === ONNX_MARKER)) {
    throw new Error(
      `${source.repo}@${source.revision} has no ${ONNX_MARKER}, so it is not an ONNX export; ONNX exports often live on a branch (e.g. ${source.repo}@onnx)`,
    );
  }
  const fetchWithToken = hubFetch(access, options.fetch);
  // model_index.json first: whether the model requires its safety checker decides what else to take.
  const index = await fetchModelIndex(listing, options, fetchWithToken);
  const required = requiresSafetyChecker(index?.json);
  const wanted = options.safetyChecker ?? 'required';
  const withSafetyChecker = wanted === 'always' || (wanted === 'required' && required);
  const { take, skip } = selectModelFiles(listing, { withSafetyChecker });
  const bytes = take.reduce((sum, file) => sum + file.size, 0);
  const progress = options.progress?.(bytes) ?? SILENT_PROGRESS;
  progress.note(
    `${source.repo}@${source.revision}: ${take.length} files (${formatBytes(bytes)}) into ${options.outDir}; ` +
      `${skip.length} skipped (${summarizeSkips(skip)})`,
  );

  if (required && !withSafetyChecker) {
    progress.note(
      "warning: model_index.json requires a safety checker and it was not taken: the engine will warn and return images unfiltered (set safety.checker: 'off' to say that is intended)",
    );
  }
  const outcomes: Record<DownloadOutcome, number> = { downloaded: 0, resumed: 0, unchanged: 0 };
  const failures: DownloadError[] = [];
  for (const file of take) {
    progress.current(file.path);
    if (index !== undefined && file === index.file) {
      outcomes[index.outcome] += 1;
      progress.alreadyHave(file.size);
      continue;
    }
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
  const taken = take.some((file) => file.path === SAFETY_CHECKER_MODEL);
  return { files: take, bytes, outcomes, skipped: skip.length, folder, safetyChecker: { taken, required } };
}

/** diffusers' rule: `requires_safety_checker`, or where it is left out, whether a checker is named. */
function requiresSafetyChecker(modelIndex: unknown): boolean {
  if (typeof modelIndex !== 'object' || modelIndex === null) return false;
  const { requires_safety_checker: flag, safety_checker: named } = modelIndex as Record<string, unknown>;
  if (typeof flag === 'boolean') return flag;
  return Array.isArray(named) && named[0] !== null;
}

/** Downloads and verifies `model_index.json` like every other file (a rerun finds it in place) and reads it. */
async function fetchModelIndex(listing: readonly RemoteFile[], options: FetchModelOptions, fetchWithToken: typeof fetch) {
  const file = listing.find((candidate) => candidate.path === MODEL_INDEX);
  if (file === undefined) return undefined;
  const target = join(options.outDir, MODEL_INDEX);
  const outcome = await downloadVerified(resolveUrl(options.access, options.source, MODEL_INDEX), file, target, { ...options.download, fetch: fetchWithToken });
  let json: unknown;
  try {
    json = JSON.parse(await readFile(target, 'utf8'));
  } catch (error) {
    throw new Error(`${options.source.repo}@${options.source.revision}: ${MODEL_INDEX} is not valid JSON: ${(error as Error).message}`);
  }
  return { file, outcome, json };
}

/** "3 PyTorch / safetensors weights, 2 safety checker …" */
function summarizeSkips(skip: ReadonlyArray<{ readonly reason: string }>): string {
  const counts = new Map<string, number>();
  for (const { reason } of skip) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} × ${reason}`).join('; ') || 'nothing';
}
