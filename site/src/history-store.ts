import type { GenerationRequest } from '../../contract/generation-request';

/**
 * This browser's past generations. Presigned image URLs expire within hours, so an entry keeps
 * small thumbnails as data URLs instead, plus the settings that made them.
 */
export interface HistoryEntry {
  /** The job id, also the key to ask the API for the full images while they last. */
  readonly id: string;
  readonly createdAt: string;
  readonly request: GenerationRequest;
  readonly status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  readonly seeds?: readonly number[];
  readonly thumbnails?: readonly string[];
  /** How many of the job's images the site's content filter held back. */
  readonly withheld?: number;
  /** A small copy of the picture an image-to-image request started from. */
  readonly initThumbnail?: string;
}

/** Where the page keeps its history in the browser's storage, unless told otherwise. */
export const DEFAULT_HISTORY_KEY = 'serverless-diffusion.history.v1';

export interface HistoryStoreOptions {
  /** @default DEFAULT_HISTORY_KEY */
  readonly key?: string;
  /** @default 40 */
  readonly maxEntries?: number;
}

/** Newest first, bounded, and shrinking rather than failing when the browser's quota is hit. */
export class HistoryStore {
  private readonly key: string;
  private readonly maxEntries: number;

  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>,
    options: HistoryStoreOptions = {},
  ) {
    this.key = options.key ?? DEFAULT_HISTORY_KEY;
    this.maxEntries = options.maxEntries ?? 40;
  }

  list(): HistoryEntry[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.storage.getItem(this.key) ?? '[]');
    } catch {
      return [];
    }
    return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
  }

  get(id: string): HistoryEntry | undefined {
    return this.list().find((entry) => entry.id === id);
  }

  /** Adds the entry, or replaces the one with its id keeping its place. */
  save(entry: HistoryEntry): void {
    const entries = this.list();
    const index = entries.findIndex((e) => e.id === entry.id);
    if (index >= 0) entries[index] = entry;
    else entries.unshift(entry);
    this.write(entries.slice(0, this.maxEntries));
  }

  clear(): void {
    this.storage.removeItem(this.key);
  }

  private write(entries: HistoryEntry[]): void {
    // On a full storage quota, drop the oldest entries until the rest fits; the newest matters most.
    for (let keep = entries.length; keep >= 0; keep--) {
      try {
        this.storage.setItem(this.key, JSON.stringify(entries.slice(0, keep)));
        return;
      } catch (error) {
        if (!isQuotaError(error)) throw error;
      }
    }
  }
}

function isQuotaError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: string }).name === 'QuotaExceededError';
}

function isEntry(value: unknown): value is HistoryEntry {
  const entry = value as Partial<HistoryEntry> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.id === 'string' &&
    typeof entry.createdAt === 'string' &&
    typeof entry.request === 'object' &&
    entry.request !== null &&
    typeof entry.request.prompt === 'string' &&
    (entry.status === 'pending' || entry.status === 'succeeded' || entry.status === 'failed' || entry.status === 'canceled')
  );
}
