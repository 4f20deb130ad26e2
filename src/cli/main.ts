import { ConfigError } from '../config/errors';
import { OperatorError } from '../operations/errors';
import type { Output } from './output';
import { ExitCode, UsageError } from './errors';
import { BATCH_USAGE, BATCHES_USAGE, CONSOLE_USAGE, DROP_USAGE, EXPECTATIONS_USAGE, PUSH_HANDOFF_USAGE, REDRIVE_USAGE, REPLAY_USAGE, USAGE, VALIDATE_USAGE } from './usage';

type Command = (argv: string[], output: Output) => Promise<number>;

/**
 * Each command's help and a loader for its code: a command's modules (the AWS
 * SDK, csv-parse, ajv…) load only when it runs, so `--help`, a command's
 * `--help` and a mistyped command start in about the time node itself takes.
 */
const COMMANDS: Record<string, { usage: string; load: () => Promise<Command> }> = {
  validate: { usage: VALIDATE_USAGE, load: async () => (await import('./validate-command')).validateCommand },
  batches: { usage: BATCHES_USAGE, load: async () => (await import('./operator-commands')).batchesCommand },
  batch: { usage: BATCH_USAGE, load: async () => (await import('./operator-commands')).batchCommand },
  replay: { usage: REPLAY_USAGE, load: async () => (await import('./operator-commands')).replayCommand },
  redrive: { usage: REDRIVE_USAGE, load: async () => (await import('./operator-commands')).redriveCommand },
  drop: { usage: DROP_USAGE, load: async () => (await import('./operator-commands')).dropCommand },
  console: { usage: CONSOLE_USAGE, load: async () => (await import('./console-command')).consoleCommand },
  expectations: { usage: EXPECTATIONS_USAGE, load: async () => (await import('./expectations-command')).expectationsCommand },
  'push-handoff': { usage: PUSH_HANDOFF_USAGE, load: async () => (await import('./push-handoff-command')).pushHandoffCommand },
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
    const run = await command.load();
    return await run(rest, { stdout: (text) => process.stdout.write(text), stderr: process.stderr, columns: terminalColumns() });
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
