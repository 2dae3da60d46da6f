import { byId, el } from './dom';
import type { Notice } from './wording';

/**
 * The progress area. `#status` is a polite live region that only changes when the phase does; the
 * ticking clock sits outside it; notices (errors) go to an alert region.
 */
export class StatusView {
  private readonly status = byId('status');
  private readonly clock = byId('clock');
  private readonly notice = byId('notice');
  private readonly backendNote = byId('backend-note');

  announce(text: string): void {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  setClock(text: string): void {
    this.clock.textContent = text;
  }

  showNotice(notice: Notice | undefined): void {
    this.notice.replaceChildren();
    if (notice === undefined) return;
    this.notice.append(
      el('div', { class: 'notice' }, el('p', { class: 'notice-title' }, notice.title), ...(notice.detail ? [el('p', {}, notice.detail)] : [])),
    );
  }

  setBackendNote(text: string): void {
    this.backendNote.textContent = text;
  }
}
