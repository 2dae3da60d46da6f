import { HistoryStore, type HistoryEntry } from '../../site/src/history-store';

/** localStorage's contract with a byte budget, as browsers enforce one. */
class BudgetStorage {
  private readonly items = new Map<string, string>();
  constructor(private readonly budget = Infinity) {}
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (value.length > this.budget) throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

const entry = (id: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  id,
  createdAt: '2025-06-01T12:00:00.000Z',
  request: { prompt: `prompt ${id}` },
  status: 'pending',
  ...extra,
});

describe('HistoryStore', () => {
  it('keeps entries newest first and updates one in place', () => {
    const store = new HistoryStore(new BudgetStorage());
    store.save(entry('a'));
    store.save(entry('b'));
    store.save(entry('a', { status: 'succeeded', seeds: [5] }));
    expect(store.list().map((e) => [e.id, e.status])).toEqual([
      ['b', 'pending'],
      ['a', 'succeeded'],
    ]);
    expect(store.get('a')?.seeds).toEqual([5]);
  });

  it('bounds the number of entries', () => {
    const store = new HistoryStore(new BudgetStorage(), { maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) store.save(entry(id));
    expect(store.list().map((e) => e.id)).toEqual(['d', 'c', 'b']);
  });

  it('drops the oldest entries rather than failing when storage is full', () => {
    const storage = new BudgetStorage(1200);
    const store = new HistoryStore(storage);
    for (const id of ['a', 'b', 'c', 'd', 'e']) store.save(entry(id, { thumbnails: ['data:image/jpeg;base64,' + 'A'.repeat(200)] }));
    const ids = store.list().map((e) => e.id);
    expect(ids[0]).toBe('e');
    expect(ids.length).toBeLessThan(5);
    expect(ids).not.toContain('a');
  });

  it('survives corrupt or foreign data and clears', () => {
    const storage = new BudgetStorage();
    const store = new HistoryStore(storage, { key: 'k' });
    storage.setItem('k', '{not json');
    expect(store.list()).toEqual([]);
    storage.setItem('k', JSON.stringify([{ id: 1 }, entry('ok'), null]));
    expect(store.list().map((e) => e.id)).toEqual(['ok']);
    store.clear();
    expect(store.list()).toEqual([]);
  });
});
