/**
 * How long the `partner-ingest` CLI takes to start, against a bare `node -e ''`
 * measured in the same run (issue 15: `--help` within 4× of it). See bench/README.md.
 *
 *   npm run bench:cli [-- --runs 20] [--root DIR]
 *
 * Each command is a fresh child process of this node (`process.execPath`),
 * timed from spawn to exit, so the bare run carries the same spawn cost. The
 * commands run in rounds, one of each per round, so changing machine load
 * affects them alike; one untimed round first builds the CLI if it is stale.
 * "tsx" runs the same sources compiled on load, as bin/partner-ingest.js used
 * to (with `--import tsx`: tsx/cjs alone leaves main's `import()` of a command
 * to node, which finds no .ts). `--root DIR` times another checkout's bin and
 * sources, e.g. a copy of an older commit with node_modules linked.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, median, table } from './report';

const GOAL = 4;

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, root: { type: 'string' } },
});
const runs = Number(values.runs);
const root = path.resolve(values.root ?? path.join(__dirname, '..'));
const sample = 'samples/acme/orders_2026-11-01.csv';

/** main() straight from the TypeScript sources, compiled on load by tsx. */
const viaTsx = (...args: string[]) => [
  '--import',
  'tsx',
  '-e',
  `require('tsx/cjs'); require('./src/cli/main.ts').main(${JSON.stringify(args)}).then((code) => { process.exitCode = code; });`,
];

const COMMANDS: { label: string; args: string[]; exitCode: number; goal?: boolean }[] = [
  { label: "node -e ''", args: ['-e', ''], exitCode: 0 },
  { label: 'partner-ingest --help', args: ['bin/partner-ingest.js', '--help'], exitCode: 0, goal: true },
  { label: 'partner-ingest batches --help', args: ['bin/partner-ingest.js', 'batches', '--help'], exitCode: 0, goal: true },
  { label: 'partner-ingest validate (3 rows)', args: ['bin/partner-ingest.js', 'validate', '--partner', 'acme', sample], exitCode: 0 },
  { label: 'tsx: --help', args: viaTsx('--help'), exitCode: 0 },
  { label: 'tsx: validate (3 rows)', args: viaTsx('validate', '--partner', 'acme', sample), exitCode: 0 },
];

/** Milliseconds from spawn to exit; a command that fails is not a figure. */
function timeOnce(args: string[], exitCode: number): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== exitCode) throw new Error(`node ${args.join(' ')}: exit ${run.status}, expected ${exitCode}\n${run.stderr}`);
  return ms;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// Other work on the machine slows every command; the 1-minute load average before and after says how much there was.
const loadBefore = os.loadavg()[0]!;
for (const command of COMMANDS) timeOnce(command.args, command.exitCode);
const times = COMMANDS.map(() => [] as number[]);
for (let round = 0; round < runs; round += 1) {
  COMMANDS.forEach((command, i) => times[i]!.push(timeOnce(command.args, command.exitCode)));
}

const bare = median(times[0]!);
const { cpu, cores, node, platform } = machine();
console.log(`partner-ingest CLI start-up benchmark — ${new Date().toISOString()}`);
console.log(`${cpu}, ${cores} cores, Node ${node}, ${platform}; load ${loadBefore.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`);
console.log(`${runs} runs each, in ${root}\n`);
console.log(
  table(
    ['command', 'median ms', 'p90 ms', '× bare node'],
    COMMANDS.map((command, i) => [command.label, median(times[i]!).toFixed(0), percentile(times[i]!, 90).toFixed(0), `${(median(times[i]!) / bare).toFixed(2)}×`]),
  ),
);
console.log('');
for (const [i, command] of COMMANDS.entries()) {
  if (!command.goal) continue;
  const ratio = median(times[i]!) / bare;
  console.log(`${ratio <= GOAL ? 'PASS' : 'FAIL'}: ${command.label} at ${ratio.toFixed(2)}× bare node (goal ≤ ${GOAL}×)`);
}
