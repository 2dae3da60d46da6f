import type { JobImage } from '../../contract/job';
import type { WithheldImage } from '../../contract/safety';
import { byId, el } from './dom';
import { downloadName, releaseImage, type LoadedImage } from './images';
import { WITHHELD_IMAGE_TEXT } from './wording';

export type ShownImage =
  | { readonly image: JobImage; readonly loaded: LoadedImage }
  /** Held back by the model's safety checker: a placeholder in its place. */
  | { readonly image: WithheldImage; readonly loaded?: undefined };

export interface ResultActions {
  readonly onUseSettings: (seed: number) => void;
  readonly onCopySeed: (seed: number) => Promise<boolean>;
}

/** The finished images at full size, each with download, copy-seed and "use these settings". */
export class ResultsView {
  private readonly section = byId('results');
  private readonly list = byId('result-list');
  private shown: ShownImage[] = [];

  constructor(private readonly actions: ResultActions) {}

  show(prompt: string, images: readonly ShownImage[]): void {
    this.clear();
    this.shown = [...images];
    this.list.replaceChildren(...images.map((shown, index) => this.figure(prompt, shown, index, images.length)));
    this.section.hidden = false;
  }

  clear(): void {
    for (const shown of this.shown) if (shown.loaded) releaseImage(shown.loaded);
    this.shown = [];
    this.list.replaceChildren();
    this.section.hidden = true;
  }

  private figure(prompt: string, shown: ShownImage, index: number, count: number): HTMLElement {
    const which = count > 1 ? ` ${index + 1} of ${count}` : '';
    if (shown.loaded === undefined) return this.withheldFigure(shown.image, which);
    const { image, loaded } = shown;
    const name = downloadName(prompt, image.seed, image.format);
    const copy = el('button', { type: 'button', class: 'secondary' }, 'Copy seed');
    copy.addEventListener('click', () => {
      void this.actions.onCopySeed(image.seed).then((ok) => {
        copy.textContent = ok ? 'Seed copied' : `Seed: ${image.seed}`;
        setTimeout(() => (copy.textContent = 'Copy seed'), 2500);
      });
    });
    const reuse = el('button', { type: 'button', class: 'secondary' }, 'Use these settings');
    reuse.addEventListener('click', () => this.actions.onUseSettings(image.seed));
    return el(
      'figure',
      { class: 'result' },
      el('img', { src: loaded.src, width: image.width, height: image.height, alt: `Generated image${which}: ${prompt}` }),
      el(
        'figcaption',
        {},
        el('p', { class: 'result-meta' }, `Seed ${image.seed} · ${image.width}×${image.height} · ${image.format.toUpperCase()}`),
        el(
          'div',
          { class: 'result-actions' },
          el(
            'a',
            // A remote URL ignores `download`; a new tab keeps this page (and its state) open.
            { class: 'button primary', href: loaded.src, download: name, ...(loaded.blob ? {} : { target: '_blank', rel: 'noopener' }) },
            'Download',
            el('span', { class: 'visually-hidden' }, ` image${which}`),
          ),
          copy,
          reuse,
        ),
      ),
    );
  }

  /** A calm placeholder where the content filter withheld an image; its seed is still there to move on from. */
  private withheldFigure(image: WithheldImage, which: string): HTMLElement {
    return el(
      'figure',
      { class: 'result withheld' },
      el('div', { class: 'withheld-placeholder', role: 'note', 'aria-label': `Image${which} withheld` }, el('p', {}, WITHHELD_IMAGE_TEXT)),
      el('figcaption', {}, el('p', { class: 'result-meta' }, `Seed ${image.seed}`)),
    );
  }
}
