import { byId, el } from './dom';
import { EMBED_QUERY_PARAMETER } from './embed-messages';

/** Marks the document for `embed.css`. */
export const EMBEDDED_CLASS = 'embedded';

/**
 * The compact view for `?embed` (issue 22), made from the same markup before first paint: the
 * title block kept for screen readers only, the results above the form so a new image is what the
 * reader sees first, the history folded away, and a way out to the full page. Nodes are moved
 * rather than reordered with CSS so the reading and Tab order match what is on screen.
 */
export function applyEmbedLayout(pageUrl: string): void {
  document.documentElement.classList.add(EMBEDDED_CLASS);
  document.querySelector('.page-header')?.classList.add('visually-hidden');

  const form = byId('generate-form');
  form.before(byId('results'));

  const history = byId('history');
  const fold = el('details', { id: 'history-fold', class: 'history-fold' }, el('summary', {}, 'History'));
  history.replaceWith(fold);
  fold.append(history);
  // The summary names the folded section; its heading stays for screen-reader navigation.
  byId('history-heading').classList.add('visually-hidden');

  const fullPage = new URL(pageUrl);
  fullPage.searchParams.delete(EMBED_QUERY_PARAMETER);
  fullPage.hash = '';
  const link = el(
    'a',
    { id: 'full-page-link', href: fullPage.href, target: '_blank', rel: 'noopener' },
    'Open the full page',
    el('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
  );
  document.querySelector('.page-footer')?.prepend(el('p', {}, link));
}
