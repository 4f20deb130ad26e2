import { get } from '../api';
import { h, statusBadge, table } from '../dom';
import { navigate } from '../router';
import type { Batch } from '../types';

const STATUSES = ['', 'RECEIVED', 'PROCESSING', 'COMPLETED', 'REJECTED', 'FAILED'];
const WINDOWS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
const REFRESH_MS = 15_000;

function labelled(label: string, control: HTMLElement): HTMLElement {
  return h('label', {}, label, control);
}

/** The batch table: filters kept in the URL, newest first, a page at a time, refreshed while it is open. */
export async function batchesPage(main: HTMLElement, url: URL): Promise<() => void> {
  const filters = url.searchParams;
  const since = filters.get('since') ?? '7d';
  const query = new URLSearchParams({ limit: '25' });
  for (const name of ['status', 'partner', 'feed', 'cursor']) if (filters.get(name)) query.set(name, filters.get(name)!);
  query.set('since', new Date(Date.now() - (WINDOWS[since] ?? WINDOWS['7d']!)).toISOString());

  const status = h('select', { name: 'status' }, STATUSES.map((value) => h('option', { value, ...(value === (filters.get('status') ?? '') ? { selected: true } : {}) }, value || 'any')));
  const partner = h('input', { name: 'partner', value: filters.get('partner') ?? '', size: '12' });
  const feed = h('input', { name: 'feed', value: filters.get('feed') ?? '', size: '12' });
  const window = h('select', { name: 'since' }, Object.keys(WINDOWS).map((value) => h('option', { value, ...(value === since ? { selected: true } : {}) }, `last ${value}`)));
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    labelled('Status ', status),
    labelled('Partner ', partner),
    labelled('Feed ', feed),
    labelled('Received ', window),
    h('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) next.set(name, String(value));
    navigate(`/batches?${next}`);
  });

  const results = h('div', { 'aria-live': 'polite' });
  main.append(h('h1', {}, 'Batches'), form, results);

  async function load(): Promise<void> {
    const { batches, next } = await get<{ batches: Batch[]; next: string | null }>(`/batches?${query}`);
    const nextPage = new URLSearchParams(filters);
    if (next) nextPage.set('cursor', next);
    results.replaceChildren(
      table(
        `Batches, newest first (updated ${new Date().toLocaleTimeString()})`,
        ['received', 'partner', 'feed', 'file', 'status', 'attempt', 'records', 'sent', 'reason'],
        batches.map((batch) => [
          batch.receivedAt,
          batch.partner,
          batch.feed ?? '',
          h('a', { href: `/batches/${batch.batchId}` }, batch.file.name),
          statusBadge(batch.status),
          batch.attempt,
          batch.counts?.records ?? '',
          batch.counts?.workItemsSent ?? '',
          batch.reason ? `${batch.reason.code}: ${batch.reason.message}` : '',
        ]),
      ),
      h('nav', { 'aria-label': 'Pages' }, filters.get('cursor') ? h('a', { href: `/batches?${withoutCursor(filters)}` }, 'First page') : null, ' ', next ? h('a', { href: `/batches?${nextPage}` }, 'Next page') : null),
    );
  }
  await load();
  const timer = setInterval(() => void load().catch(() => undefined), REFRESH_MS);
  return () => clearInterval(timer);
}

function withoutCursor(params: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(params);
  copy.delete('cursor');
  return copy;
}
