import { ApiClient } from './api-client';
import { App } from './app';
import { loadConfig } from './config';
import { postHeightToParent } from './embed-height';
import { isEmbedUrl } from './embed-messages';
import { applyEmbedLayout } from './embed-view';
import { HistoryStore } from './history-store';
import { StatusView } from './status-view';

/** Where storage is refused (some private modes), history lasts for this page view only. */
function pageStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  try {
    const probe = '__storage_probe__';
    localStorage.setItem(probe, probe);
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    const memory = new Map<string, string>();
    return {
      getItem: (key) => memory.get(key) ?? null,
      setItem: (key, value) => void memory.set(key, value),
      removeItem: (key) => void memory.delete(key),
    };
  }
}

async function main(): Promise<void> {
  const embedded = isEmbedUrl(new URL(location.href));
  if (embedded) applyEmbedLayout(location.href);
  let apiBaseUrl: string;
  let embedOrigins: readonly string[];
  try {
    ({ apiBaseUrl, embedOrigins } = await loadConfig(location.href));
  } catch (error) {
    new StatusView().showNotice({ title: 'This page could not load its settings.', detail: `Please reload it. (${String(error)})` });
    return;
  }
  if (embedded) postHeightToParent(embedOrigins);
  new App(new ApiClient(apiBaseUrl, location.href), new HistoryStore(pageStorage())).start();
}

void main();
