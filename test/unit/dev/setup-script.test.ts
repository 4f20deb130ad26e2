import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { motoServerCommand } from '../../../dev/moto-server';
import { PROJECT_ROOT } from '../../support/stack';

/**
 * dev/setup.sh runs before `npm start` and `npm test` (and in .ci/run). On this
 * machine everything is installed; these tests run it in a scratch project with a
 * PATH that hides what they name, so each missing prerequisite is met as a new
 * machine would meet it.
 */

/** Programs the script itself needs (a new machine has them). */
const BASICS = ['bash', 'uname', 'id', 'grep', 'dirname', 'env'];
const OPENSSH = ['sshd', 'ssh-keygen', 'sftp'];

function which(program: string): string {
  const found = spawnSync('bash', ['-c', `command -v ${program} || ls /usr/sbin/${program}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${program} is not installed on this machine`);
  return found;
}

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'setup-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** A project with dev/setup.sh and (unless `npmInstalled` is false) node_modules/.bin/node. */
function project({ npmInstalled = true, motoInVenv = false } = {}): string {
  const root = path.join(scratch, 'project');
  mkdirSync(path.join(root, 'dev'), { recursive: true });
  copyFileSync(path.join(PROJECT_ROOT, 'dev', 'setup.sh'), path.join(root, 'dev', 'setup.sh'));
  if (npmInstalled) {
    mkdirSync(path.join(root, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(process.execPath, path.join(root, 'node_modules', '.bin', 'node'));
  }
  if (motoInVenv) {
    mkdirSync(path.join(root, '.venv', 'bin'), { recursive: true });
    symlinkSync(which('moto_server'), path.join(root, '.venv', 'bin', 'moto_server'));
  }
  return root;
}

/** A PATH of one folder holding only `programs` (and the script's basics). */
function pathWith(programs: readonly string[]): string {
  const bin = mkdtempSync(path.join(scratch, 'bin-'));
  for (const program of [...BASICS, ...programs]) symlinkSync(which(program), path.join(bin, program));
  return bin;
}

function setup(root: string, PATH: string, purpose = 'start') {
  // PARTNER_INGEST_SBIN_DIRS empty: sshd is looked for on PATH only, so the PATH can hide it.
  return spawnSync('bash', [path.join(root, 'dev', 'setup.sh'), purpose], {
    env: { PATH, HOME: scratch, PARTNER_INGEST_SBIN_DIRS: '' },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('with everything installed it names what it uses', () => {
  const run = setup(project(), pathWith([...OPENSSH, 'moto_server']));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`^setup: node ${process.version}, moto_server \\S+/moto_server, sshd \\S+/sshd\\n$`));
});

test('without the npm packages it stops and says to run npm ci', () => {
  const run = setup(project({ npmInstalled: false }), pathWith([...OPENSSH, 'moto_server']));
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('the npm packages are not installed.\nRun:\n    npm ci\n');
});

test('without OpenSSH and no way to install it, it stops at once with the exact command', () => {
  // No apt-get, brew or sudo on this PATH: nothing can be installed.
  const run = setup(project(), pathWith(['moto_server']));
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^partner-ingest setup: OpenSSH \(sshd ssh-keygen sftp\) is missing/);
  expect(run.stderr).toMatch(/Run:\n {4}.*apt-get install -y openssh-server openssh-client/);
});

test('without moto_server and no python3 to install it, it stops with the pip command', () => {
  const run = setup(project(), pathWith(OPENSSH));
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('moto_server is missing, and python3 with its venv module is needed to install it.');
  expect(run.stderr).toContain("python3 -m venv .venv && .venv/bin/pip install 'moto[server]>=5.1,<6'");
});

test('for tests, without Chromium and no way to install it, it stops with the exact command', () => {
  const run = setup(project(), pathWith([...OPENSSH, 'moto_server', 'gpg']), 'test');
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^partner-ingest setup: Chromium \(for the console's browser test\) is missing/);
  expect(run.stderr).toMatch(/Run:\n {4}.*apt-get install -y chromium\n/);
});

test("moto_server in the project's .venv is used when PATH has none, by the script and by dev/moto-server", () => {
  const root = project({ motoInVenv: true });
  const run = setup(root, pathWith(OPENSSH));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain(`moto_server ${root}/.venv/bin/moto_server`);
  // npm scripts run from the project root.
  expect(motoServerCommand({ PATH: pathWith([]) }, root)).toBe(path.join(root, '.venv', 'bin', 'moto_server'));
  expect(motoServerCommand({ PATH: pathWith(['moto_server']) }, root)).toBe('moto_server');
});

test('for tests without gpg and no way to install it, it stops with the apt-get command for GnuPG; for start it does not need it', () => {
  const root = project();
  // cfn-lint is optional: without python3 on PATH it is skipped.
  const tools = [...OPENSSH, 'moto_server'];
  const run = setup(root, pathWith(tools), 'test');
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^partner-ingest setup: GnuPG \(gpg\) is missing/);
  expect(run.stderr).toMatch(/Run:\n {4}.*apt-get install -y gnupg/);
  expect(setup(root, pathWith(tools), 'start').status).toBe(0);
  expect(setup(root, pathWith([...tools, 'gpg', 'chromium']), 'test').status).toBe(0);
});
