import { get } from '../api';
import { h, statusBadge, table } from '../dom';
import type { Overview } from '../types';

/** The last 24 h at a glance: batches by status and partner, what needs attention, queue and DLQ depths. */
export async function overviewPage(main: HTMLElement): Promise<void> {
  const overview = await get<Overview>('/overview');
  const statuses = Object.keys(overview.byStatus).sort();
  main.append(
    h('h1', {}, 'Overview'),
    h('p', {}, `${overview.total} batch(es) received in the last 24 hours.`),
    h('ul', { class: 'tiles', 'aria-label': 'Batches by status' }, statuses.map((status) => h('li', {}, h('a', { href: `/batches?status=${status}&since=24h` }, statusBadge(status), ` ${overview.byStatus[status]}`)))),
    table(
      'Batches by partner (24 h)',
      ['partner', ...statuses],
      Object.entries(overview.byPartner).map(([partner, counts]) => [h('a', { href: `/batches?partner=${encodeURIComponent(partner)}&since=24h` }, partner), ...statuses.map((status) => counts[status] ?? 0)]),
    ),
    table(
      'Needs attention: FAILED and REJECTED (24 h)',
      ['received', 'partner', 'file', 'status', 'reason'],
      overview.needsAttention.map((batch) => [
        batch.receivedAt,
        batch.partner,
        h('a', { href: `/batches/${batch.batchId}` }, batch.file.name),
        statusBadge(batch.status),
        batch.reason ? `${batch.reason.code}: ${batch.reason.message}` : '',
      ]),
    ),
    table(
      'Queues',
      ['queue', 'messages', 'in flight', 'dead letters'],
      overview.queues.map((queue) => [queue.queue, queue.messages.visible, queue.messages.inFlight, queue.deadLetters.visible ? h('a', { href: '/dead-letters' }, String(queue.deadLetters.visible)) : 0]),
    ),
  );
}
