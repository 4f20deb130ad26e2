import { post } from '../api';
import { h, table } from '../dom';
import { errorBox } from '../router';
import type { RedriveResult } from '../types';

/**
 * Each DLQ's messages grouped by batch (a dry run of a redrive of everything,
 * which moves nothing), and per batch a dry run, then a redrive once confirmed.
 */
export async function deadLettersPage(main: HTMLElement): Promise<void> {
  const { results } = await post<{ results: RedriveResult[] }>('/redrive', { queue: 'all', all: true, dryRun: true });
  main.append(
    h('h1', {}, 'Dead letters'),
    ...results.map((result) =>
      h(
        'section',
        { 'aria-label': `${result.queue} dead letters` },
        table(
          `${result.queue}: ${result.moved} dead letter(s)${result.complete ? '' : ' (counting stopped early)'}`,
          ['batch', 'messages', 'redrive'],
          Object.entries(result.batches ?? {}).map(([batchId, count]) => [
            /^[0-9a-f]{32}$/.test(batchId) ? h('a', { href: `/batches/${batchId}` }, batchId) : batchId,
            count,
            /^[0-9a-f]{32}$/.test(batchId) ? redriveControls(result.queue, batchId) : '',
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
      confirm.disabled = !dry;
    } catch (error) {
      outcome.replaceChildren(errorBox(error));
    }
  };
  dryRun.addEventListener('click', () => void run(true));
  confirm.addEventListener('click', () => void run(false));
  return h('span', {}, dryRun, ' ', confirm, outcome);
}
