import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OutputFormat } from '../../../contract/limits';
import type { ImageStore } from './image-store';

/** URL path under which the local server serves the image folder. */
export const LOCAL_IMAGES_PATH = '/local-images/';

/** Local mode's images: files under a folder, served by the local server next to the API. */
export class FileImageStore implements ImageStore {
  constructor(
    readonly dir: string,
    /** The local server's origin; known only once it listens. */
    private readonly baseUrl: () => string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  async put(key: string, bytes: Uint8Array, _format: OutputFormat): Promise<void> {
    const file = join(this.dir, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }

  async url(key: string): Promise<string> {
    return `${this.baseUrl()}${LOCAL_IMAGES_PATH}${key}`;
  }
}
