import { get } from '../api';
import { h, statusBadge, table } from '../dom';
import { age, localTime, operatorZone } from '../time';
import type { FeedExpectationView, Overview } from '../types';

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
    'value' in overview.expectations
      ? expectationsTable(overview.expectations.value)
      : h('p', { class: 'error' }, `Feed expectations unavailable: ${overview.expectations.unavailable}`),
  );
}

/** Per feed with an `expect` block: its latest due time's state and the next due time, in the operator's zone and the partner's (as the CLI's `expectations`). */
function expectationsTable(views: readonly FeedExpectationView[]): HTMLElement {
  const zone = operatorZone();
  return table(
    'Feed expectations',
    ['partner', 'feed', 'last due (partner)', 'state', 'files', `next due (you, ${zone})`, 'next due (partner)'],
    views.map((view) => [
      view.partner,
      view.feed,
      view.last ? localTime(view.last.dueAt, view.expect.timezone) : 'none yet',
      view.last ? h('span', { class: `status status-${view.last.state.toLowerCase()}` }, view.last.state) : '–',
      view.last ? `${view.last.counted}/${view.last.expected}` : '–',
      view.nextDueAt ? localTime(view.nextDueAt, zone) : 'never',
      view.nextDueAt ? `${localTime(view.nextDueAt, view.expect.timezone)} (${view.expect.timezone})` : 'never',
    ]),
  );
}
