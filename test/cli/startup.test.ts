/**
 * The CLI starts fast (issue 15) because it runs a build of itself and loads a
 * command's modules only when that command runs. Speed is measured by
 * `npm run bench:cli`; these tests check the causes: what a call loads, and
 * that the build is made when missing and remade when a source changes.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { projectCopy, removeCopies, scratchDir } from '../deploy/packaging';
import { REPO_ROOT } from '../support/csv-cases';

const RECORDER = path.join(REPO_ROOT, 'test', 'support', 'record-loaded-modules.js');
const SAMPLE = path.join(REPO_ROOT, 'samples', 'acme', 'orders_2026-11-01.csv');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(root: string, args: string[], nodeOptions: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeOptions, path.join(root, 'bin', 'partner-ingest.js'), ...args],
      { cwd: root, env: { ...process.env, PARTNER_INGEST_CONFIG_ROOT: undefined, ...env }, timeout: 60_000 },
      (error: ExecFileException | null, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

afterAll(() => removeCopies());

describe('what a call loads', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = scratchDir('loaded-modules');
    // Builds the CLI if it is stale, so no call below loads esbuild to build.
    expect((await cli(REPO_ROOT, ['--help'])).code).toBe(0);
  });

  /** The packages (folders under node_modules) a call loaded, and its run. */
  async function packagesLoadedBy(args: string[]): Promise<{ run: Run; packages: string[] }> {
    const out = path.join(scratch, `${args.join('_').replace(/[^\w-]/g, '')}.txt`);
    const run = await cli(REPO_ROOT, args, ['--require', RECORDER], { LOADED_MODULES_FILE: out });
    const packages = readFileSync(out, 'utf8')
      .split('\n')
      .map((file) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1])
      .filter((name): name is string => name !== undefined);
    return { run, packages: [...new Set(packages)].sort() };
  }

  test.each([[['--help']], [['batches', '--help']], [['replay', '-h']], [['console', '--help']], [['no-such-command']]])('partner-ingest %j loads no package at all', async (args) => {
    const { run, packages } = await packagesLoadedBy(args);
    expect(run.stdout + run.stderr).toContain('usage: partner-ingest');
    expect(packages).toEqual([]);
  });

  test('validate loads no AWS SDK and no Powertools', async () => {
    const { run, packages } = await packagesLoadedBy(['validate', '--partner', 'acme', SAMPLE]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(packages).toContain('csv-parse'); // the recorder sees the packages the command does load
    expect(packages.filter((name) => name.startsWith('@aws-sdk/') || name.startsWith('@aws-lambda-powertools/'))).toEqual([]);
  });

  test('an operator command loads only the SDK clients it uses', async () => {
    const { packages } = await packagesLoadedBy(['batches', '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', 'http://127.0.0.1:9']);
    expect(packages.filter((name) => name.startsWith('@aws-sdk/client-'))).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@aws-sdk/client-sts']);
  });
});

describe('the build', () => {
  let project: string;
  const stampOf = () => JSON.parse(readFileSync(path.join(project, '.build', 'src-cli-main', 'stamp.json'), 'utf8')) as { main: string };
  const usageFile = () => path.join(project, 'src', 'cli', 'usage.ts');
  const editUsage = (from: string, to: string) => writeFileSync(usageFile(), readFileSync(usageFile(), 'utf8').replace(from, to));

  beforeAll(() => {
    project = projectCopy('cli-build');
    rmSync(path.join(project, '.build'), { recursive: true, force: true });
  });

  test('is made on the first run, by two runs at once without harm', async () => {
    const runs = await Promise.all([cli(project, ['--help']), cli(project, ['--help'])]);
    for (const run of runs) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('usage: partner-ingest <command> [options]');
    }
  });

  test('is reused while no source changed', async () => {
    const before = stampOf().main;
    expect((await cli(project, ['--help'])).code).toBe(0);
    expect(stampOf().main).toBe(before);
  });

  test('is remade when a source changes, even to the same size', async () => {
    editUsage('usage: partner-ingest <command> [options]', 'USAGE: partner-ingest <command> [options]');
    const run = await cli(project, ['--help']);
    expect(run.stdout).toContain('USAGE: partner-ingest <command> [options]');
  });

  test('is remade when a source changes size but keeps its modification time (cp -p, tar)', async () => {
    const kept = new Date('2026-01-01T00:00:00Z');
    utimesSync(usageFile(), kept, kept);
    expect((await cli(project, ['--help'])).stdout).toContain('USAGE: partner-ingest');
    editUsage('USAGE: partner-ingest <command> [options]', 'Usage (changed): partner-ingest <command> [options]');
    utimesSync(usageFile(), kept, kept);
    expect((await cli(project, ['--help'])).stdout).toContain('Usage (changed): partner-ingest');
  });
});

// Tests import main() through jest's swc transform, where a command's import() becomes a require.
test('main() loads and runs a command in-process', async () => {
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text) => written.push(String(text)) > 0);
  try {
    expect(await main(['validate', '--partner', 'acme', SAMPLE])).toBe(0);
  } finally {
    write.mockRestore();
  }
  expect(written.join('')).toContain('status:   COMPLETED');
});
