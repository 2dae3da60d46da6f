import { IMAGE_MIME_TYPES, type OutputFormat } from '../../contract/limits';

/** An image ready to show: a blob URL when its bytes could be fetched, else the remote URL itself. */
export interface LoadedImage {
  readonly src: string;
  readonly blob?: Blob;
}

/**
 * Fetches the bytes once so display, download (a blob URL is same-origin, so `download` names the
 * file) and the history thumbnail share them. A bucket without CORS makes fetch fail; the image
 * still shows from its URL, only the thumbnail is lost.
 */
export async function loadImage(url: string): Promise<LoadedImage> {
  try {
    const response = await fetch(url, { mode: 'cors', credentials: 'omit' });
    if (!response.ok) return { src: url };
    const blob = await response.blob();
    return { src: URL.createObjectURL(blob), blob };
  } catch {
    return { src: url };
  }
}

export function releaseImage(image: LoadedImage): void {
  if (image.blob !== undefined) URL.revokeObjectURL(image.src);
}

/**
 * A small JPEG data URL for the history: presigned URLs expire, a few kilobytes in localStorage do not.
 */
export async function makeThumbnail(blob: Blob, maxSide = 128, quality = 0.75): Promise<string | undefined> {
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext('2d');
    if (context === null) return undefined;
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return canvas.toDataURL('image/jpeg', quality);
  } catch {
    return undefined;
  }
}

/** `lighthouse-on-a-cliff-1234.png`: readable in a downloads folder, unique per seed. */
export function downloadName(prompt: string, seed: number, format: OutputFormat): string {
  const slug = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  const extension = IMAGE_MIME_TYPES[format] === 'image/jpeg' ? 'jpg' : format;
  return `${slug || 'image'}-${seed}.${extension}`;
}
