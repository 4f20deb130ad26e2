import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { defaultConfigLocation } from '../config/load-partners';
import { loadCheckedPartnerRegistry } from '../config/load-checked';
import { DiscardingItemSink } from '../validate/sinks';
import { validateFile, type ValidationOutcome } from '../validate/validate-file';
import { CollectingRejectSink, type ReportedError } from '../validate/collecting-reject-sink';
import { ExitCode, UsageError } from './errors';
import type { Output } from './output';
import type { FeedConfig } from '../config/types';
import type { PgpKeys } from '../pgp/keys';
import { PgpKeyError } from '../pgp/errors';
import { parseControlFile, type ControlFileRead } from '../validate/control-file-parse';

const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

/** What `partner-ingest validate --json` prints (README "Checking a file without AWS"). */
export interface ValidateReport {
  readonly status: ValidationOutcome['status'];
  readonly reason: string | null;
  readonly reasonCode: string | null;
  readonly counts: ValidationOutcome['counts'];
  readonly errors: readonly ReportedError[];
  readonly errorsTruncated: boolean;
}


function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        partner: { type: 'string' },
        feed: { type: 'string' },
        json: { type: 'boolean', default: false },
        'max-errors': { type: 'string', default: '100' },
        'config-root': { type: 'string' },
        'decrypt-key': { type: 'string' },
        'passphrase-env': { type: 'string' },
        'control-file': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `partner-ingest validate`: returns the exit code. */
export async function validateCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  if (!values.partner) throw new UsageError('--partner is required');
  if (positionals.length !== 1) throw new UsageError(`expected exactly one FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  // Digits only: Number() would also take "", " 5" or "1e3".
  const maxErrors = /^[0-9]+$/.test(values['max-errors']) ? Number(values['max-errors']) : Number.NaN;
  if (!Number.isSafeInteger(maxErrors)) {
    throw new UsageError(`--max-errors must be a whole number, got "${values['max-errors']}"`);
  }
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a regular file');
    size = stat.size;
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }

  const registry = await loadCheckedPartnerRegistry(values['config-root'] ? { root: values['config-root'] } : defaultConfigLocation());
  const partner = registry.partners.get(values.partner);
  if (!partner) {
    throw new UsageError(`unknown partner "${values.partner}" (known: ${[...registry.partners.keys()].join(', ')})`);
  }
  const feed = values.feed
    ? partner.feeds.find((candidate) => candidate.id === values.feed)
    : registry.feedForFile(partner, path.basename(file));
  if (!feed) {
    const known = partner.feeds.map((candidate) => candidate.id).join(', ');
    throw new UsageError(
      values.feed
        ? `unknown feed "${values.feed}" for partner ${partner.id} (known: ${known})`
        : `${path.basename(file)} matches no feed of partner ${partner.id}; pass --feed (known: ${known})`,
    );
  }

  const decryption = await decryptionKeys(feed, values['decrypt-key'], values['passphrase-env']);
  const control = controlFileOf(feed, values['control-file']);
  const rejects = new CollectingRejectSink(maxErrors);
  const bar = !values.json && output.stderr.isTTY && size >= PROGRESS_MIN_BYTES ? progressBar(output.stderr, size) : undefined;
  // A control file that cannot be used rejects the data file unread, as the ingest function does.
  const outcome: ValidationOutcome = control && 'reason' in control
    ? { status: 'REJECTED', reason: control.reason, counts: { records: 0, valid: 0, invalid: 0 }, file: { bytes: size, compressed: false } }
    : await validateFile({
    source: createReadStream(file, { highWaterMark: 256 * 1024 }),
    feed,
    batchId: 'local',
    items: new DiscardingItemSink(),
    rejects,
    onProgress: bar ? (bytes) => bar.update(bytes) : undefined,
    ...(decryption ? { decryption } : {}),
    ...(control && 'found' in control ? { controlFile: control.found } : {}),
  });
  bar?.stop();

  const report: ValidateReport = {
    status: outcome.status,
    reason: outcome.reason?.message ?? null,
    reasonCode: outcome.reason?.code ?? null,
    counts: outcome.counts,
    errors: rejects.errors,
    errorsTruncated: rejects.truncated,
  };
  output.stdout(values.json ? `${JSON.stringify(report)}\n` : humanSummary(file, partner.id, feed.id, report));
  return outcome.status === 'COMPLETED' ? ExitCode.OK : ExitCode.REJECTED;
}

/**
 * A feed's control file for a local check (`--control-file`): without it the
 * data file is checked alone, as the ingest function would once the control
 * file's totals agree.
 */
function controlFileOf(feed: FeedConfig, file: string | undefined): ControlFileRead | undefined {
  if (file === undefined) return undefined;
  if (!feed.controlFile) throw new UsageError(`feed ${feed.partnerId}/${feed.id} has no controlFile; --control-file is for feeds that have one`);
  let text: string;
  try {
    text = readFileSync(file, feed.format.encoding === 'utf-8' ? 'utf8' : 'latin1');
  } catch (error) {
    throw new UsageError(`cannot read --control-file ${file}: ${(error as Error).message}`);
  }
  return parseControlFile(text, feed, path.basename(file));
}

/**
 * An encrypted feed's keys for a local check: our private key from a file
 * (`--decrypt-key`), its passphrase from an environment variable
 * (`--passphrase-env`, so it is in neither the shell history nor `ps`), the
 * signers from the feed's config.
 */
async function decryptionKeys(feed: FeedConfig, keyFile: string | undefined, passphraseEnv: string | undefined): Promise<PgpKeys | undefined> {
  if (!feed.encryption) {
    if (keyFile !== undefined) throw new UsageError(`feed ${feed.partnerId}/${feed.id} is not encrypted; --decrypt-key is for encrypted feeds`);
    return undefined;
  }
  if (keyFile === undefined) {
    throw new UsageError(`feed ${feed.partnerId}/${feed.id} is encrypted (OpenPGP): pass --decrypt-key FILE, our armored private key`);
  }
  let armoredKey: string;
  try {
    armoredKey = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --decrypt-key ${keyFile}: ${(error as Error).message}`);
  }
  let passphrase: string | undefined;
  if (passphraseEnv !== undefined) {
    passphrase = process.env[passphraseEnv];
    if (passphrase === undefined) throw new UsageError(`--passphrase-env ${passphraseEnv}: the environment variable is not set`);
  }
  const { pgpKeysFor } = await import('../pgp/keys');
  try {
    return await pgpKeysFor(feed, { armoredKey, ...(passphrase === undefined ? {} : { passphrase }), source: keyFile });
  } catch (error) {
    if (error instanceof PgpKeyError) throw new UsageError(error.message);
    throw error;
  }
}

function progressBar(stream: NodeJS.WriteStream, total: number): SingleBar {
  const bar = new SingleBar({
    stream,
    format: 'validating [{bar}] {percentage}% | {value}/{total} bytes | eta {eta}s',
    hideCursor: true,
    fps: 5,
  });
  bar.start(total, 0);
  return bar;
}

const SHOWN_ERRORS = 20;

function humanSummary(file: string, partner: string, feed: string, report: ValidateReport): string {
  const { counts } = report;
  const lines = [
    `${file} (${partner}/${feed})`,
    `status:   ${report.status}${report.reason ? ` — ${report.reasonCode}: ${report.reason}` : ''}`,
    `records:  ${counts.records} (valid ${counts.valid}, invalid ${counts.invalid})`,
  ];
  if (report.errors.length) {
    lines.push(`first errors:`);
    for (const error of report.errors.slice(0, SHOWN_ERRORS)) {
      const where = error.line === null ? 'file' : `line ${error.line}`;
      lines.push(`  ${where}${error.column ? ` ${error.column}` : ''}: ${error.code} ${error.message}`);
    }
    const more = report.errors.length - SHOWN_ERRORS;
    if (more > 0 || report.errorsTruncated) lines.push(`  … more errors not shown (use --json)`);
  }
  return `${lines.join('\n')}\n`;
}
