/** The files of a model folder that belong in S3: hidden files and partial downloads stay home. */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PARTIAL_SUFFIX } from './resumable-download';

export interface LocalFile {
  /** Relative to the folder, with `/` separators (an S3 key suffix). */
  readonly path: string;
  readonly absolute: string;
  readonly size: number;
}

export async function modelFolderFiles(root: string): Promise<LocalFile[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: LocalFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const absolute = join(entry.parentPath, entry.name);
    const path = relative(root, absolute).split(sep).join('/');
    if (path.split('/').some((part) => part.startsWith('.')) || path.endsWith(PARTIAL_SUFFIX)) continue;
    files.push({ path, absolute, size: (await stat(absolute)).size });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}
