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
    'value' in overview.alarms
      ? table('Alarms in ALARM', ['alarm', 'since', 'reason'], overview.alarms.value.map((alarm) => [alarm.name, alarm.since ?? '', alarm.reason]))
      : h('p', { class: 'error' }, `Alarms unavailable: ${overview.alarms.unavailable}`),
    table(
      'SFTP partners',
      ['partner', 'last pull', 'last success', 'last error', 'host key mismatches'],
      overview.sftp.map(({ partner, status }) => [
        partner,
        status?.lastPullAt ?? 'never',
        status?.lastSuccessAt ?? '–',
        status?.lastError ? `${status.lastError.at} ${status.lastError.code}: ${status.lastError.message}` : '–',
        status?.hostKeyMismatches ? h('strong', { class: 'alert' }, `${status.hostKeyMismatches} (last ${status.lastHostKeyMismatchAt})`) : 0,
      ]),
    ),
    table(
      'Queues',
      ['queue', 'messages', 'in flight', 'oldest', 'dead letters', 'oldest dead letter'],
      overview.queues.map((queue) => [
        queue.queue,
        queue.messages.visible,
        queue.messages.inFlight,
        age(queue.messages.oldestAgeSeconds),
        queue.deadLetters.visible ? h('a', { href: '/dead-letters' }, String(queue.deadLetters.visible)) : 0,
        age(queue.deadLetters.oldestAgeSeconds),
      ]),
    ),
    ...(overview.queueAgesUnavailable ? [h('p', { class: 'error' }, `Message ages unavailable: ${overview.queueAgesUnavailable}`)] : []),
  );
}

/** An age in seconds, as an operator reads it; a dash when CloudWatch has no recent figure. */
function age(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
