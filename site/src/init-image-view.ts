import { DEFAULTS, LIMITS } from '../../contract/limits';
import { byId } from './dom';

/** A picture chosen to start from, ready for the request, and a small copy for the history. */
export interface ChosenImage {
  /** A data: URL the API accepts as `init_image`. */
  readonly dataUrl: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
}

const ACCEPTED = ['image/png', 'image/jpeg', 'image/webp'];

/**
 * Reads a picture file for image-to-image. One larger than the API takes (in pixels or in base64)
 * is scaled down here to fit, as a JPEG, instead of being refused after a long upload.
 */
export async function readInitImage(file: File): Promise<ChosenImage> {
  if (!ACCEPTED.includes(file.type)) throw new Error('Choose a PNG, JPEG or WebP picture.');
  const bitmap = await createImageBitmap(file).catch(() => {
    throw new Error('That file could not be read as a picture.');
  });
  try {
    const pixels = bitmap.width * bitmap.height;
    const original = await asDataUrl(file);
    if (pixels <= LIMITS.initImageMaxPixels && original.length <= LIMITS.initImageMaxBase64Length) {
      return { dataUrl: original, name: file.name, width: bitmap.width, height: bitmap.height };
    }
    const scale = Math.min(1, Math.sqrt(LIMITS.initImageMaxPixels / pixels));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(LIMITS.sizeMultiple, Math.floor(bitmap.width * scale));
    canvas.height = Math.max(LIMITS.sizeMultiple, Math.floor(bitmap.height * scale));
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const dataUrl = canvas.toDataURL('image/jpeg', 0.9);
    if (dataUrl.length > LIMITS.initImageMaxBase64Length) throw new Error('That picture is too large, even scaled down.');
    return { dataUrl, name: file.name, width: canvas.width, height: canvas.height };
  } finally {
    bitmap.close();
  }
}

function asDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error('That file could not be read.'));
    reader.readAsDataURL(blob);
  });
}

/**
 * "Start from an image": a file picker that is also a drop target, a preview with a way to remove
 * the picture, and the strength slider, whose value is read out as words.
 */
export class InitImageView {
  private readonly section = byId<HTMLDetailsElement>('init-image-section');
  private readonly input = byId<HTMLInputElement>('init_image');
  private readonly dropZone = byId('init-image-drop');
  private readonly preview = byId<HTMLImageElement>('init-image-preview');
  private readonly chosenBox = byId('init-image-chosen');
  private readonly remove = byId<HTMLButtonElement>('init-image-remove');
  private readonly strength = byId<HTMLInputElement>('strength');
  private readonly strengthValue = byId<HTMLOutputElement>('strength-value');
  private readonly error = byId('init_image-error');
  private chosen?: ChosenImage;

  constructor(private readonly announce: (text: string) => void) {
    this.input.addEventListener('change', () => {
      const file = this.input.files?.[0];
      if (file) void this.choose(file);
    });
    for (const type of ['dragenter', 'dragover'] as const) {
      this.dropZone.addEventListener(type, (event) => {
        event.preventDefault();
        this.dropZone.classList.add('dragging');
      });
    }
    this.dropZone.addEventListener('dragleave', () => this.dropZone.classList.remove('dragging'));
    this.dropZone.addEventListener('drop', (event) => {
      event.preventDefault();
      this.dropZone.classList.remove('dragging');
      const file = event.dataTransfer?.files[0];
      if (file) void this.choose(file);
    });
    this.remove.addEventListener('click', () => {
      this.clear();
      this.announce('Picture removed.');
      this.input.focus();
    });
    this.strength.addEventListener('input', () => this.showStrength());
    this.showStrength();
  }

  /** The picture and strength for the request, or nothing when no picture is chosen. */
  value(): { readonly init_image: string; readonly strength: number } | undefined {
    return this.chosen ? { init_image: this.chosen.dataUrl, strength: Number(this.strength.value) } : undefined;
  }

  /** Hidden for a model without a VAE encoder: it cannot start from a picture. */
  setAvailable(available: boolean): void {
    this.section.hidden = !available;
    if (!available) this.clear();
  }

  showError(message: string): void {
    this.section.open = true;
    this.error.textContent = message;
    this.error.hidden = false;
    this.input.setAttribute('aria-invalid', 'true');
    this.input.focus();
  }

  clear(): void {
    this.chosen = undefined;
    this.input.value = '';
    this.preview.removeAttribute('src');
    this.preview.alt = '';
    this.chosenBox.hidden = true;
    this.clearError();
  }

  private async choose(file: File): Promise<void> {
    this.clearError();
    try {
      this.chosen = await readInitImage(file);
    } catch (error) {
      this.clear();
      this.showError((error as Error).message);
      return;
    }
    this.preview.src = this.chosen.dataUrl;
    this.preview.alt = `Starting picture: ${this.chosen.name}`;
    this.chosenBox.hidden = false;
    this.announce(`Picture chosen: ${this.chosen.name}, ${this.chosen.width} × ${this.chosen.height}.`);
  }

  private clearError(): void {
    this.error.textContent = '';
    this.error.hidden = true;
    this.input.removeAttribute('aria-invalid');
  }

  private showStrength(): void {
    const value = Number(this.strength.value);
    const words = value < 0.4 ? 'keeps most of the picture' : value < 0.75 ? 'changes it moderately' : 'repaints most of it';
    this.strengthValue.value = value.toFixed(2);
    this.strength.setAttribute('aria-valuetext', `${value.toFixed(2)}: ${words}`);
  }
}

/** The slider's starting point: the API's own default strength. */
export const DEFAULT_STRENGTH = DEFAULTS.strength;
