import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../support/stack';

/**
 * The README's first command, as a newcomer runs it: in a clean checkout (the
 * files git tracks, nothing built or installed), `npm ci && npm start` up to the
 * first completion event, then Ctrl-C. System packages (moto_server, OpenSSH) are
 * assumed present; test/unit/dev/setup-script.test.ts covers their absence.
 */

/** The README's first command: the first line of its first shell block, without the comment. */
function readmeFirstCommand(): string {
  const block = /```bash\n([^\n]*)\n/.exec(readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8'));
  if (!block) throw new Error('README.md has no ```bash block');
  return block[1]!.replace(/\s+#.*$/, '').trim();
}

/** What a clone of this working tree holds: tracked and new files git does not ignore. */
function cleanCheckout(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fresh-clone-'));
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (files.status !== 0) throw new Error(`git ls-files failed: ${files.stderr}`);
  for (const file of files.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(PROJECT_ROOT, file))) continue; // deleted, not yet committed
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(PROJECT_ROOT, file), path.join(dir, file));
  }
  return dir;
}

/** This process's environment as a new shell would have it: no npm run variables, no project bin folder on PATH. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && name !== 'INIT_CWD'));
  env.PATH = (env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(path.delimiter);
  return env;
}

test("the README's first command, in a clean checkout, installs, starts and ingests the samples", async () => {
  const command = readmeFirstCommand();
  expect(command).toBe('npm ci && npm start');
  const dir = cleanCheckout();
  const child = spawn('bash', ['-c', command], { cwd: dir, env: newcomerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    for (const deadline = Date.now() + 900_000; !/^event .*status=COMPLETED/m.test(stdout); await sleep(500)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`no completion event (exit ${child.exitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      }
    }
    // Node 24 from the `node` devDependency ran it, with every prerequisite found.
    expect(stdout).toMatch(/^setup: node v24\.\d+\.\d+, moto_server \S+, sshd \S+$/m);
    expect(stdout).toMatch(/^event .*partner=acme feed=orders file=orders_2026-11-01\.csv attempt=1 status=COMPLETED/m);

    // Ctrl-C in the terminal: the whole foreground group gets SIGINT, and everything stops.
    process.kill(-child.pid!, 'SIGINT');
    expect(await Promise.race([exited, sleep(30_000, 'still running', { ref: false })])).not.toBe('still running');
    expect(stdout).toMatch(/^stopped/m);
    // Nothing on stderr: no runtime warning (Node 20's AWS SDK notice, deprecations), no npm warning.
    expect(stderr).toBe('');
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGINT');
      await Promise.race([exited, sleep(30_000, undefined, { ref: false })]);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, 960_000);
