import { ConfigError } from '../config/errors';
import { OperatorError } from '../operations/errors';
import {
  BATCH_USAGE,
  batchCommand,
  BATCHES_USAGE,
  batchesCommand,
  DROP_USAGE,
  dropCommand,
  REDRIVE_USAGE,
  redriveCommand,
  REPLAY_USAGE,
  replayCommand,
} from './operator-commands';
import { ExitCode, UsageError } from './errors';
import { VALIDATE_USAGE, validateCommand } from './validate-command';

const USAGE = `usage: partner-ingest <command> [options]

commands:
  validate   check a local file against a partner feed (no AWS needed)
  batches    list a stage's batches, newest first
  batch      show one batch in full
  replay     reprocess a FAILED or REJECTED batch as a new attempt
  redrive    move dead-lettered messages back to their queues
  drop       upload a file into a stage's landing bucket as a partner would

Run "partner-ingest <command> --help" for a command's options.`;

const COMMANDS: Record<string, { usage: string; run: typeof validateCommand }> = {
  validate: { usage: VALIDATE_USAGE, run: validateCommand },
  batches: { usage: BATCHES_USAGE, run: batchesCommand },
  batch: { usage: BATCH_USAGE, run: batchCommand },
  replay: { usage: REPLAY_USAGE, run: replayCommand },
  redrive: { usage: REDRIVE_USAGE, run: redriveCommand },
  drop: { usage: DROP_USAGE, run: dropCommand },
};

/** COLUMNS when set (as `COLUMNS=100 partner-ingest batches | less` would), else the terminal's width; none when piped. */
function terminalColumns(): number | undefined {
  const fromEnv = Number(process.env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/** Entry point of the `partner-ingest` CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`partner-ingest: unknown command "${name}"\n${USAGE}\n`);
    return ExitCode.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return ExitCode.OK;
  }
  try {
    return await command.run(rest, { stdout: (text) => process.stdout.write(text), stderr: process.stderr, columns: terminalColumns() });
  } catch (error) {
    if (error instanceof OperatorError) {
      process.stderr.write(`partner-ingest ${name}: ${error.oneLine}\n`);
      return ExitCode.USAGE;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`partner-ingest ${name}: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`${command.usage}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }
}
