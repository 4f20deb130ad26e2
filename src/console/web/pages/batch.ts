import { get, post } from '../api';
import { h, statusBadge, table } from '../dom';
import { errorBox } from '../router';
import type { BatchView, Counts, ReplayResult } from '../types';

const FOLLOW_MS = 1_000;
const RUNNING = new Set(['RECEIVED', 'PROCESSING']);

function counts(value: Counts | undefined): string {
  return value ? `${value.records} records = ${value.valid} valid + ${value.invalid} invalid; ${value.workItemsSent} work items sent` : 'none yet';
}

/** One batch in full, and its replay: a preview first, then a confirmed replay followed to its end. */
export async function batchPage(main: HTMLElement, url: URL): Promise<() => void> {
  const batchId = url.pathname.split('/')[2]!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const details = h('div');
  const replay = replayPanel(batchId, (attempt) => follow(attempt));
  main.append(h('h1', {}, 'Batch ', h('code', {}, batchId)), details, replay.element);

  async function show(): Promise<BatchView> {
    const view = await get<BatchView>(`/batches/${batchId}`);
    details.replaceChildren(...render(view));
    return view;
  }

  let left = false;
  /** Shows the batch again every second until attempt `attempt` has ended, or the page is left. */
  function follow(attempt: number): void {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const view = await show().catch(() => undefined);
      if (left) return;
      if (!view || view.batch.attempt < attempt || RUNNING.has(view.batch.status)) follow(attempt);
      else replay.ended(view.batch.attempt, view.batch.status);
    }, FOLLOW_MS);
  }

  // A batch still running when the page opens is followed to its end as well.
  const first = await show();
  if (RUNNING.has(first.batch.status)) follow(first.batch.attempt);
  return () => {
    left = true;
    clearTimeout(timer);
  };
}

function render({ batch, attempts, audit, firstErrors, completionEvent }: BatchView): HTMLElement[] {
  const download = (file: string, label: string) => h('a', { href: `/api/batches/${batch.batchId}/files/${file}`, download: true }, label);
  return [
    h(
      'p',
      { class: 'headline', id: 'batch-status' },
      statusBadge(batch.status),
      ` attempt ${batch.attempt}`,
      batch.reason ? ` — ${batch.reason.code}: ${batch.reason.message}` : '',
    ),
    h(
      'dl',
      {},
      h('dt', {}, 'Partner / feed'),
      h('dd', {}, `${batch.partner} / ${batch.feed ?? '(no feed)'}`),
      h('dt', {}, 'File'),
      h('dd', {}, `${batch.file.name}, ${batch.file.bytes ?? '?'} bytes`),
      h('dt', {}, 'Source'),
      h('dd', {}, batch.source.uri),
      h('dt', {}, 'Counts'),
      h('dd', { id: 'batch-counts' }, counts(batch.counts)),
      h('dt', {}, 'Received'),
      h('dd', {}, `${batch.receivedAt}; finished ${batch.finishedAt ?? '-'}`),
      h('dt', {}, 'Files'),
      h('dd', {}, batch.archive ? download('raw', 'raw file') : '(not archived)', ' ', batch.validation?.rejects ? download('rejects', 'rejects report') : ''),
    ),
    h(
      'section',
      { 'aria-label': 'Attempts' },
      h('h2', {}, 'Attempts'),
      h(
        'ol',
        { class: 'timeline' },
        attempts.map((attempt) =>
          h(
            'li',
            {},
            statusBadge(attempt.status),
            ` attempt ${attempt.attempt}, ${attempt.startedAt ?? '?'} → ${attempt.finishedAt}; ${counts(attempt.counts)}`,
            attempt.reason ? h('div', { class: 'reason' }, `${attempt.reason.code}: ${attempt.reason.message}`) : null,
          ),
        ),
      ),
    ),
    table('First row errors (rejects report)', ['line', 'column', 'code', 'message'], firstErrors.map((error) => [error.line, error.column, error.code, error.message])),
    table('Operator actions', ['at', 'actor', 'action', 'outcome'], audit.map((entry) => [entry.at, entry.actor, entry.action, entry.outcome])),
    h(
      'section',
      { 'aria-label': 'Completion event' },
      h('h2', {}, `Completion event (attempt ${batch.attempt})`),
      completionEvent ? h('pre', { id: 'completion-event', tabindex: '0' }, JSON.stringify(completionEvent, null, 2)) : h('p', {}, 'none yet: the attempt has not finished'),
    ),
  ];
}

/**
 * Replay choices, each with what it does; a preview (dry run) comes first, the
 * replay only once confirmed. `ended` says how the followed attempt ended.
 */
function replayPanel(batchId: string, started: (attempt: number) => void): { element: HTMLElement; ended: (attempt: number, status: string) => void } {
  const force = h('input', { type: 'checkbox', id: 'replay-force' });
  const fromScratch = h('input', { type: 'checkbox', id: 'replay-from-scratch' });
  const outcome = h('div', { 'aria-live': 'polite', id: 'replay-outcome' });
  const preview = h('button', { type: 'button' }, 'Preview replay');
  const confirm = h('button', { type: 'button', disabled: true }, 'Confirm replay');
  const choices = () => ({ force: force.checked, fromScratch: fromScratch.checked });
  // A changed choice needs a new preview before a replay.
  for (const box of [force, fromScratch]) box.addEventListener('change', () => (confirm.disabled = true));

  preview.addEventListener('click', async () => {
    confirm.disabled = true;
    outcome.replaceChildren('Previewing…');
    try {
      const result = await post<ReplayResult>(`/batches/${batchId}/replay`, { ...choices(), dryRun: true });
      if (!result.dryRun) return;
      outcome.replaceChildren(
        h(
          'p',
          { id: 'replay-preview' },
          `Would be ${result.status}: ${result.counts.valid} items (${result.counts.records} records, ${result.counts.invalid} invalid)`,
          result.reason ? ` — ${result.reason.code}: ${result.reason.message}` : '',
          result.complete ? '' : ' (stopped early: partial counts)',
          '. Nothing was sent or changed.',
        ),
      );
      confirm.disabled = false;
      confirm.focus();
    } catch (error) {
      outcome.replaceChildren(errorBox(error));
    }
  });
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    try {
      const result = await post<ReplayResult>(`/batches/${batchId}/replay`, choices());
      if (result.dryRun) return;
      outcome.replaceChildren(h('p', {}, `Attempt ${result.attempt} queued${result.tookOver ? ' (taken over: its lease had expired)' : ''}; following it…`));
      started(result.attempt);
    } catch (error) {
      outcome.replaceChildren(errorBox(error));
    }
  });

  const element = h(
    'section',
    { 'aria-label': 'Replay', class: 'replay' },
    h('h2', {}, 'Replay'),
    h('p', {}, 'Reprocesses the archived raw file as a new attempt, with the partner configuration and schemas as they are now. Work item ids stay the same.'),
    h('div', {}, force, h('label', { for: 'replay-force' }, ' Force: replay even a COMPLETED batch — its work items are sent again (same ids).')),
    h('div', {}, fromScratch, h('label', { for: 'replay-from-scratch' }, " From scratch: start a FAILED batch over from its raw file instead of carrying on from its last attempt's progress.")),
    h('div', { class: 'actions' }, preview, ' ', confirm),
    outcome,
  );
  const ended = (attempt: number, status: string) => outcome.replaceChildren(h('p', { id: 'replay-ended' }, `Attempt ${attempt} ended `, statusBadge(status), '.'));
  return { element, ended };
}
