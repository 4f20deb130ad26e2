import { get, post } from '../api';
import { h, table } from '../dom';
import { errorBox } from '../router';
import { age } from '../time';
import type { DeadLetterQueueView, RedriveResult } from '../types';

const BATCH_ID = /^[0-9a-f]{32}$/;

/**
 * Each DLQ's messages grouped by batch, as GET /dead-letters sees them
 * (viewing moves nothing and records nothing), and per batch a dry run — the
 * operator's explicit, audited question — then a redrive once confirmed.
 */
export async function deadLettersPage(main: HTMLElement): Promise<void> {
  const { at, queues } = await get<{ at: string; queues: DeadLetterQueueView[] }>('/dead-letters');
  const now = Date.parse(at);
  main.append(
    h('h1', {}, 'Dead letters'),
    ...queues.map((view) =>
      h(
        'section',
        { 'aria-label': `${view.queue} dead letters` },
        table(
          `${view.queue}: ${view.depth} dead letter(s)${view.oldestSentAt ? `, oldest ${age((now - Date.parse(view.oldestSentAt)) / 1000)}` : ''}${view.complete ? '' : ' (looked at part of them)'}`,
          ['batch', 'messages', 'oldest', 'redrive'],
          view.batches.map((batch) => [
            BATCH_ID.test(batch.batchId) ? h('a', { href: `/batches/${batch.batchId}` }, batch.batchId) : batch.batchId,
            batch.messages,
            age((now - Date.parse(batch.oldestSentAt)) / 1000),
            BATCH_ID.test(batch.batchId) ? redriveControls(view.queue, batch.batchId) : '',
          ]),
        ),
      ),
    ),
  );
}

function redriveControls(queue: string, batchId: string): HTMLElement {
  const outcome = h('span', { 'aria-live': 'polite', class: 'redrive-outcome' });
  const dryRun = h('button', { type: 'button', 'aria-label': `Dry run: redrive ${queue} dead letters of ${batchId}` }, 'Dry run');
  const confirm = h('button', { type: 'button', disabled: true, 'aria-label': `Redrive ${queue} dead letters of ${batchId}` }, 'Redrive');
  const run = async (dry: boolean) => {
    confirm.disabled = true;
    try {
      const { results } = await post<{ results: RedriveResult[] }>('/redrive', { queue, batchId, dryRun: dry });
      const moved = results.reduce((sum, result) => sum + result.moved, 0);
      outcome.replaceChildren(dry ? ` would move ${moved} message(s) back to ${queue}; nothing moved` : ` moved ${moved} message(s) back to ${queue}`);
      // A redrive comes only after a dry run of the same batch; once done, the dry run is to be asked again.
      confirm.disabled = !dry;
      if (dry) confirm.focus();
    } catch (error) {
      outcome.replaceChildren(errorBox(error));
    }
  };
  dryRun.addEventListener('click', () => void run(true));
  confirm.addEventListener('click', () => void run(false));
  return h('span', {}, dryRun, ' ', confirm, outcome);
}
