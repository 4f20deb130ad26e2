import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { SingleBar } from 'cli-progress';
import { inboundKeyOf } from '../landing/layout';
import { Ledger } from '../ledger/batches';
import { BATCH_STATUSES, BatchStatus, isBatchStatus, type BatchState } from '../ledger/types';
import { DEAD_LETTER_QUEUES, isDeadLetterQueue, redriveFilter, redriveStage, type RedriveFilter } from '../operations/redrive';
import { replayBatch } from '../operations/replay';
import { batchView } from '../operations/batch-view';
import { closeStage, operatorDeps, parseCommand, stageFrom } from './stage-options';
import type { Output } from './output';
import { renderTable } from './table';
import { parseRange } from './time-range';
import { ExitCode, UsageError } from './errors';
import { defaultConfigLocation, loadPartnerRegistry } from '../config/load-partners';
import { routeBatch } from '../ingest/routing';

const BATCHES_COLUMNS = ['batch', 'received', 'partner', 'feed', 'file', 'status', 'attempt', 'records', 'valid', 'invalid', 'sent', 'reason'];
/**
 * On a narrow terminal the reason is cut first (`batch <id>` and --json have it in
 * full), then the file name; then the columns that matter least are hidden. The
 * batch id is never cut: it is what `batch` and `replay` take.
 */
const BATCHES_FIT = {
  cut: { reason: 12, file: 12 },
  hide: ['valid', 'invalid', 'feed', 'records', 'attempt', 'received', 'sent', 'partner'],
};

export async function batchesCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    partner: { type: 'string' },
    feed: { type: 'string' },
    status: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string', default: '50' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const status = values.status?.toUpperCase();
  if (status && !isBatchStatus(status)) throw new UsageError(`--status "${values.status}" is not one of ${BATCH_STATUSES.join(', ')}`);
  if (!/^[1-9][0-9]{0,4}$/.test(values.limit)) throw new UsageError(`--limit must be a whole number from 1 to 99999, got "${values.limit}"`);
  const range = parseRange(values.since, values.until);
  const stage = await stageFrom(values);
  try {
    const ledger = new Ledger(stage.clients.dynamo, stage.resources.ledgerTable);
    const batches = await ledger.listBatches({
      ...range,
      limit: Number(values.limit),
      ...(status ? { status } : {}),
      ...(values.partner ? { partner: values.partner } : {}),
      ...(values.feed ? { feed: values.feed } : {}),
    });
    if (values.json) {
      output.stdout(`${JSON.stringify(batches.map(summary))}\n`);
    } else {
      const rows = batches.map((batch) => {
        const row = summary(batch);
        return [row.batchId, row.receivedAt, row.partner, row.feed ?? '', row.file, row.status, row.attempt, row.records, row.valid, row.invalid, row.sent, row.reason ?? ''];
      });
      const table = renderTable(BATCHES_COLUMNS, rows, output.columns ? { width: output.columns, ...BATCHES_FIT } : undefined);
      output.stdout(`${table}\n${batches.length} batch(es) from ${range.from} to ${range.to}\n`);
    }
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}

function summary(batch: BatchState) {
  return {
    batchId: batch.batchId,
    receivedAt: batch.receivedAt,
    partner: batch.partner,
    feed: batch.feed,
    file: batch.file.name,
    status: batch.status,
    attempt: batch.attempt,
    records: batch.counts?.records ?? 0,
    valid: batch.counts?.valid ?? 0,
    invalid: batch.counts?.invalid ?? 0,
    sent: batch.counts?.workItemsSent ?? 0,
    reason: batch.reason ? `${batch.reason.code}: ${batch.reason.message}` : null,
  };
}

export async function batchCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length !== 1) throw new UsageError('expected exactly one BATCH_ID');
  const batchId = positionals[0]!;
  const stage = await stageFrom(values);
  try {
    const ledger = new Ledger(stage.clients.dynamo, stage.resources.ledgerTable);
    const view = await batchView({ ledger, s3: stage.clients.s3 }, batchId, 'find batch ids with `partner-ingest batches`');
    const { batch: state, attempts, audit, firstErrors } = view;
    if (values.json) {
      output.stdout(`${JSON.stringify(view)}\n`);
      return ExitCode.OK;
    }
    const lines = [
      `batch ${state.batchId}: ${state.status} (attempt ${state.attempt})${state.reason ? ` — ${state.reason.code}: ${state.reason.message}` : ''}`,
      `partner/feed  ${state.partner}/${state.feed ?? '(no feed)'}`,
      `source        ${state.source.uri}${state.source.versionId ? ` (version ${state.source.versionId})` : ''}`,
      `file          ${state.file.name}, ${state.file.bytes ?? '?'} bytes, sha256 ${state.file.sha256 ?? '(not read yet)'}`,
      `counts        ${state.counts ? `${state.counts.records} records, ${state.counts.valid} valid, ${state.counts.invalid} invalid, ${state.counts.workItemsSent} work items sent` : '(none yet)'}`,
      `received      ${state.receivedAt}; started ${state.startedAt ?? '-'}; finished ${state.finishedAt ?? '-'}`,
      `raw file      ${view.locations.rawFile ?? '(not archived)'}`,
      `staged items  ${view.locations.stagedItems ?? '-'}`,
      `rejects       ${view.locations.rejectsReport ?? '-'}`,
      '',
      'attempts:',
      renderTable(
        ['attempt', 'status', 'started', 'finished', 'records', 'valid', 'invalid', 'sent', 'reason'],
        attempts.map((attempt) => [
          attempt.attempt,
          attempt.status,
          attempt.startedAt ?? '',
          attempt.finishedAt,
          attempt.counts?.records ?? '',
          attempt.counts?.valid ?? '',
          attempt.counts?.invalid ?? '',
          attempt.counts?.workItemsSent ?? '',
          attempt.reason ? `${attempt.reason.code}: ${attempt.reason.message}` : '',
        ]),
      ),
    ];
    if (firstErrors.length) {
      lines.push('', `first errors (rejects report):`, renderTable(['line', 'column', 'code', 'message'], firstErrors.map((error) => [error.line, error.column, error.code, error.message])));
    }
    if (audit.length) {
      lines.push('', 'operator actions:', renderTable(['at', 'actor', 'action', 'outcome'], audit.map((entry) => [entry.at, entry.actor, entry.action, entry.outcome])));
    }
    output.stdout(`${lines.join('\n')}\n`);
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}

/** How often a waiting replay looks at the ledger. */
const REPLAY_POLL_MS = Number(process.env.PARTNER_INGEST_POLL_MS ?? 1000);

export async function replayCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    force: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    'from-scratch': { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
  });
  if (positionals.length !== 1) throw new UsageError('expected exactly one BATCH_ID');
  const batchId = positionals[0]!;
  if (!/^[0-9a-f]{32}$/.test(batchId)) throw new UsageError(`"${batchId}" is not a batch id (32 hex digits); find batch ids with \`partner-ingest batches\``);
  const stage = await stageFrom(values);
  try {
    const deps = operatorDeps(stage);
    const result = await replayBatch(
      { batchId, force: values.force, dryRun: values['dry-run'], fromScratch: values['from-scratch'], actor: stage.actor },
      deps,
      // A dry run on the operator's machine has no invocation to fit in.
      { remainingMs: () => Number.POSITIVE_INFINITY, optionStyle: 'cli' },
    );
    if (result.dryRun) {
      output.stdout(
        values.json
          ? `${JSON.stringify(result)}\n`
          : `dry run of ${result.batchId}: would be ${result.status}${result.reason ? ` — ${result.reason.code}: ${result.reason.message}` : ''}\n` +
              `records ${result.counts.records}, valid ${result.counts.valid}, invalid ${result.counts.invalid}; nothing was sent or changed\n`,
      );
      return ExitCode.OK;
    }
    if (values['no-wait']) {
      output.stdout(values.json ? `${JSON.stringify(result)}\n` : `batch ${result.batchId} attempt ${result.attempt}: QUEUED${result.tookOver ? ' (taken over: its lease had expired)' : ''}\n`);
      return ExitCode.OK;
    }
    const state = await waitForAttempt(deps.ledger, result.batchId, result.attempt, values.json ? undefined : output.stderr);
    output.stdout(
      values.json
        ? `${JSON.stringify({ batchId: state.batchId, status: state.status, attempt: state.attempt, counts: state.counts ?? null, reason: state.reason ?? null })}\n`
        : `batch ${state.batchId} attempt ${state.attempt}: ${state.status}${state.reason ? ` — ${state.reason.code}: ${state.reason.message}` : ''}\n` +
            (state.counts ? `records ${state.counts.records}, valid ${state.counts.valid}, invalid ${state.counts.invalid}, work items sent ${state.counts.workItemsSent}\n` : ''),
    );
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}

/** Where an attempt stands, in a few words, for a waiting operator. */
function progressOf(state: BatchState): string {
  const validated = state.validationProgress?.checkpoint.counts.records;
  if (state.counts) return `sent ${state.counts.workItemsSent.toLocaleString('en-US')} of ${state.counts.valid.toLocaleString('en-US')} work items`;
  if (validated !== undefined) return `validated ${validated.toLocaleString('en-US')} records`;
  return state.archive ? 'validating' : 'queued';
}

/**
 * Follows the batch in the ledger until attempt `attempt` (or a later one) ends,
 * showing its progress on a terminal. Interrupting it stops only the watching:
 * the attempt runs on in the stage.
 */
async function waitForAttempt(ledger: Ledger, batchId: string, attempt: number, terminal: NodeJS.WriteStream | undefined): Promise<BatchState> {
  let shown = '';
  for (;;) {
    const state = (await ledger.get(batchId))!;
    if (state.attempt >= attempt && state.status !== BatchStatus.PROCESSING && state.status !== BatchStatus.RECEIVED) {
      if (shown && terminal?.isTTY) terminal.write('\n');
      return state;
    }
    const line = `batch ${batchId} attempt ${state.attempt}: ${state.status}, ${progressOf(state)}`;
    if (terminal?.isTTY && line !== shown) terminal.write(`\r${line}\u001b[K`);
    shown = line;
    await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
  }
}

/** A redrive from the operator's machine stops receiving after this long, whatever is left (run it again). */
const CLI_REDRIVE_MS = 10 * 60_000;

export async function redriveCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    queue: { type: 'string', default: 'all' },
    batch: { type: 'string' },
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const queue = values.queue;
  if (!isDeadLetterQueue(queue)) throw new UsageError(`--queue must be ${DEAD_LETTER_QUEUES.join(', ')}, got "${queue}"`);
  let filter: RedriveFilter;
  try {
    filter = redriveFilter(values.batch, values.all, { batchId: '--batch', all: '--all' });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const stage = await stageFrom(values);
  try {
    const bar = !values.json && output.stderr.isTTY ? new SingleBar({ stream: output.stderr, format: 'redriving {queue}: {value} moved, {kept} left' }) : undefined;
    bar?.start(0, 0, { queue, kept: 0 });
    const results = await redriveStage({
      sqs: stage.clients.sqs,
      ledger: new Ledger(stage.clients.dynamo, stage.resources.ledgerTable),
      resources: stage.resources,
      queue,
      filter,
      dryRun: values['dry-run'],
      actor: stage.actor,
      deadline: Date.now() + CLI_REDRIVE_MS,
      onProgress: (name, moved, kept) => bar?.update(moved, { queue: name, kept }),
    });
    bar?.stop();
    const verb = values['dry-run'] ? 'would move' : 'moved';
    output.stdout(
      values.json
        ? `${JSON.stringify(results)}\n`
        : `${results
            .map(
              (result) =>
                `${result.queue}: ${verb} ${result.moved} message(s) back, ${result.kept} other(s) left in the DLQ${result.complete ? '' : ' — stopped before the end, run it again'}` +
                (result.batches ? Object.entries(result.batches).map(([id, count]) => `\n  ${id}: ${count}`).join('') : ''),
            )
            .join('\n')}\n`,
    );
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}

export async function dropCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    partner: { type: 'string' },
    as: { type: 'string' },
    force: { type: 'boolean' },
    'config-root': { type: 'string' },
  });
  if (!values.partner) throw new UsageError('--partner is required');
  if (positionals.length !== 1) throw new UsageError(`expected exactly one FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  const name = values.as ?? path.basename(file);
  if (!/^[^/\\]+$/.test(name) || name.includes('..')) throw new UsageError(`"${name}" is not a plain file name`);
  if (!values.force) {
    const registry = loadPartnerRegistry(values['config-root'] ? { root: values['config-root'] } : defaultConfigLocation());
    const { reason } = routeBatch(registry, { partner: values.partner, file: { name } });
    if (reason) throw new UsageError(`${reason.message}: the batch would end REJECTED ${reason.code} — check --partner and --as, or pass --force`);
  }
  let bytes: number;
  try {
    bytes = statSync(file).size;
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const stage = await stageFrom(values);
  try {
    const key = inboundKeyOf(values.partner, name);
    const upload = new Upload({
      client: stage.clients.s3,
      params: { Bucket: stage.resources.landingBucket, Key: key, Body: createReadStream(file) },
    });
    const result = await upload.done();
    output.stdout(
      values.json
        ? `${JSON.stringify({ bucket: stage.resources.landingBucket, key, bytes, versionId: result.VersionId ?? null })}\n`
        : `dropped ${file} (${bytes} bytes) as s3://${stage.resources.landingBucket}/${key}\n`,
    );
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}
