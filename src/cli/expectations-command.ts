import { defaultConfigLocation, loadPartnerRegistry } from '../config/load-partners';
import { Ledger } from '../ledger/batches';
import { expectationsOverview, localTime } from '../expectations/overview';
import { ExitCode, UsageError } from './errors';
import type { Output } from './output';
import { closeStage, parseCommand, stageFrom } from './stage-options';
import { renderTable } from './table';

const COLUMNS = ['partner', 'feed', 'last due', 'state', 'files', 'next due (you)', 'next due (partner)'];
const FIT = { cut: { 'next due (partner)': 16 }, hide: ['files', 'last due', 'next due (you)'] };

/** The operator's zone: TZ when set, else the system's. */
function operatorZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export async function expectationsCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, { partner: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const registry = loadPartnerRegistry(defaultConfigLocation());
  if (values.partner && !registry.partners.has(values.partner)) throw new UsageError(`--partner "${values.partner}" is not in partners/`);
  const stage = await stageFrom(values);
  try {
    const views = await expectationsOverview(
      { registry, ledger: new Ledger(stage.clients.dynamo, stage.resources.ledgerTable), clock: () => new Date() },
      values.partner ? { partner: values.partner } : {},
    );
    if (values.json) {
      output.stdout(`${JSON.stringify(views)}\n`);
      return ExitCode.OK;
    }
    const zone = operatorZone();
    const rows = views.map((view) => [
      view.partner,
      view.feed,
      view.last ? localTime(view.last.dueAt, view.expect.timezone) : '',
      view.last?.state ?? '',
      view.last ? `${view.last.counted}/${view.last.expected}` : '',
      view.nextDueAt ? localTime(view.nextDueAt, zone) : 'never',
      view.nextDueAt ? `${localTime(view.nextDueAt, view.expect.timezone)} (${view.expect.timezone})` : 'never',
    ]);
    const table = renderTable(COLUMNS, rows, output.columns ? { width: output.columns, ...FIT } : undefined);
    output.stdout(`${table}\n${views.length} feed(s) with expectations; "last due" in the partner's zone\n`);
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}
