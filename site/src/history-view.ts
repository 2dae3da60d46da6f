import { byId, el } from './dom';
import type { HistoryEntry } from './history-store';
import { describeWithheld } from './wording';

export interface HistoryActions {
  readonly onShow: (entry: HistoryEntry) => void;
  readonly onUseSettings: (entry: HistoryEntry) => void;
  readonly onClear: () => void;
}

const STATUS_WORDS: Readonly<Record<HistoryEntry['status'], string>> = {
  pending: 'in progress',
  succeeded: '',
  failed: 'failed',
  canceled: 'canceled',
};

/** This browser's past generations, newest first. */
export class HistoryView {
  private readonly list = byId<HTMLOListElement>('history-list');
  private readonly empty = byId('history-empty');
  private readonly clearButton = byId<HTMLButtonElement>('clear-history');

  constructor(private readonly actions: HistoryActions) {
    this.clearButton.addEventListener('click', () => actions.onClear());
  }

  render(entries: readonly HistoryEntry[]): void {
    this.list.replaceChildren(...entries.map((entry, index) => this.item(entry, `history-prompt-${index}`)));
    this.empty.hidden = entries.length > 0;
    this.clearButton.hidden = entries.length === 0;
  }

  private item(entry: HistoryEntry, promptId: string): HTMLElement {
    const when = new Date(entry.createdAt);
    const details = [
      when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
      entry.seeds !== undefined && entry.seeds.length > 0 ? `seed ${entry.seeds.join(', ')}` : '',
      STATUS_WORDS[entry.status],
      entry.withheld ? describeWithheld(entry.withheld) : '',
    ].filter(Boolean);
    const thumbnails = (entry.thumbnails ?? []).map((src) => el('img', { src, alt: '', class: 'thumbnail' }));
    // The starting picture of an image-to-image request, told apart from the results for screen readers.
    const start = entry.initThumbnail ? [el('img', { src: entry.initThumbnail, alt: 'Starting picture', class: 'thumbnail init-thumbnail' })] : [];
    const show = el('button', { type: 'button', class: 'secondary', 'aria-describedby': promptId }, 'Show');
    show.addEventListener('click', () => this.actions.onShow(entry));
    const reuse = el('button', { type: 'button', class: 'secondary', 'aria-describedby': promptId }, 'Use settings');
    reuse.addEventListener('click', () => this.actions.onUseSettings(entry));
    return el(
      'li',
      { class: 'history-item' },
      el('div', { class: 'thumbnails' }, ...start, ...(thumbnails.length > 0 ? thumbnails : [el('div', { class: 'thumbnail placeholder' })])),
      el(
        'div',
        { class: 'history-text' },
        el('p', { class: 'history-prompt', id: promptId }, entry.request.prompt),
        el('p', { class: 'hint' }, details.join(' · ')),
        el('div', { class: 'history-actions' }, ...(entry.status === 'failed' || entry.status === 'canceled' ? [] : [show]), reuse),
      ),
    );
  }
}
