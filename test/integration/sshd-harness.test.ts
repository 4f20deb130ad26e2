import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSshd, type SshdServer } from '../../dev/sshd';

// Proves the sshd harness with the real OpenSSH client tools only (ssh, sftp, ssh-keygen).

interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunningTool {
  /** Resolves when the first stdout chunk containing `text` arrives. */
  waitForStdout(text: string): Promise<void>;
  done: Promise<ToolResult>;
}

function startTool(command: string, args: string[], input = '', timeoutMs = 15_000): RunningTool {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters.filter((w) => stdout.includes(w.text))) waiter.resolve();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(input);
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ToolResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    done,
    waitForStdout: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stdout.includes(text)) return resolve();
        waiters.push({ text, resolve });
        done.then(() => reject(new Error(`exited before printing ${text}: ${stderr}`)), reject);
      }),
  };
}

const runTool = (command: string, args: string[], input = '') => startTool(command, args, input).done;

/** Non-zombie processes whose command line contains `needle`. */
function processesMatching(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) found.push(`${pid} ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

let server: SshdServer;
let clientDir: string;
let keyFile: string;
let knownHosts: string;
let wrongKnownHosts: string;

function clientOptions(knownHostsFile: string): string[] {
  return [
    '-F', '/dev/null',
    '-i', keyFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5',
  ];
}

const sshArgs = (command: string, knownHostsFile = knownHosts) => [
  ...clientOptions(knownHostsFile), '-p', String(server.port), `${server.username}@${server.host}`, command,
];
const sftpArgs = (knownHostsFile = knownHosts) => [
  '-b', '-', ...clientOptions(knownHostsFile), '-P', String(server.port), `${server.username}@${server.host}`,
];

async function sftpRoundTrip(): Promise<void> {
  const source = path.join(server.rootDir, 'inbound', `orders-${randomBytes(4).toString('hex')}.bin`);
  const body = randomBytes(256 * 1024);
  await mkdir(path.dirname(source), { recursive: true });
  await writeFile(source, body);
  const target = path.join(clientDir, path.basename(source));
  const result = await runTool('sftp', sftpArgs(), `get ${source} ${target}\n`);
  expect(result).toMatchObject({ code: 0 });
  expect((await readFile(target)).equals(body)).toBe(true);
}

beforeAll(async () => {
  server = await startSshd();
  clientDir = await mkdtemp(path.join(tmpdir(), 'sshd-harness-client-'));
  keyFile = path.join(clientDir, 'id_ed25519');
  await writeFile(keyFile, server.privateKey, { mode: 0o600 });
  knownHosts = path.join(clientDir, 'known_hosts');
  await writeFile(knownHosts, `[${server.host}]:${server.port} ${server.hostPublicKey}\n`);
  const otherKey = path.join(clientDir, 'other_host_key');
  await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
  wrongKnownHosts = path.join(clientDir, 'wrong_known_hosts');
  await writeFile(wrongKnownHosts, `[${server.host}]:${server.port} ${(await readFile(`${otherKey}.pub`, 'utf8')).trim()}\n`);
});

afterAll(async () => {
  await server?.dispose();
  if (clientDir) await rm(clientDir, { recursive: true, force: true });
});

test('describes itself: loopback, current user, OpenSSH key, absolute rootDir', () => {
  expect(server.host).toBe('127.0.0.1');
  expect(server.port).toBeGreaterThan(0);
  expect(server.username).toBe(userInfo().username);
  expect(server.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  expect(server.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+/);
  expect(path.isAbsolute(server.rootDir)).toBe(true);
  expect(existsSync(server.rootDir)).toBe(true);
});

test('hostKeyFingerprint is what ssh-keygen -lf prints', async () => {
  const pub = path.join(clientDir, 'host.pub');
  await writeFile(pub, `${server.hostPublicKey}\n`);
  const result = await runTool('ssh-keygen', ['-lf', pub]);
  expect(result.code).toBe(0);
  expect(result.stdout.split(' ')[1]).toBe(server.hostKeyFingerprint);
  expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('serves files under rootDir over sftp with strict host key checking', async () => {
  await sftpRoundTrip();
});

test('a client that expects a different host key refuses to connect', async () => {
  const result = await runTool('ssh', sshArgs('true', wrongKnownHosts));
  expect(result.code).toBe(255);
  expect(result.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

test('killSessions() drops a live session (and what it runs) but keeps the listener', async () => {
  const marker = `sshd-harness-${randomBytes(6).toString('hex')}`;
  const session = startTool('ssh', sshArgs(`echo ready; sleep 30; echo ${marker}`));
  await session.waitForStdout('ready');
  // Our ssh client and the remote shell (and briefly its fork for `sleep`, before exec).
  expect(processesMatching(marker).length).toBeGreaterThanOrEqual(2);

  expect(await server.killSessions()).toBeGreaterThanOrEqual(1);
  const result = await session.done;
  // Ended by the kill, not by the command: the marker after `sleep 30` never came.
  expect(result.code).toBe(255);
  expect(result.stdout).not.toContain(marker);
  expect(processesMatching(marker)).toEqual([]);

  await sftpRoundTrip();
});

test('a command orphaned by a vanished client is still killed', async () => {
  // Without a pty sshd does not SIGHUP the command when the client goes away, so it
  // leaves the listener's process tree; the harness finds it by its SetEnv marker.
  const marker = `sshd-harness-${randomBytes(6).toString('hex')}`;
  const session = startTool('ssh', sshArgs(`echo ready; sleep 30; echo ${marker}`));
  await session.waitForStdout('ready');
  const client = processesMatching(marker).find((line) => / ssh -F /.test(` ${line.split(' ').slice(1).join(' ')}`));
  expect(client).toBeDefined();
  process.kill(Number(client?.split(' ')[0]), 'SIGKILL');
  await session.done;
  // The client's end reaches sshd a moment later: wait for it (up to 10 s, however slow the machine).
  for (let i = 0; i < 500 && processesMatching(marker).length !== 1; i += 1) await sleep(20);
  expect(processesMatching(marker)).toHaveLength(1); // the remote shell, orphaned

  await server.killSessions();
  expect(processesMatching(marker)).toEqual([]);
});

test('stop() ends sessions and refuses connections; start() serves again on the same port with the same host key', async () => {
  const port = server.port;
  const session = startTool('ssh', sshArgs('echo ready; sleep 30'));
  await session.waitForStdout('ready');

  await server.stop();
  expect((await session.done).code).toBe(255);
  const refused = await runTool('ssh', sshArgs('true'));
  expect(refused.code).toBe(255);
  expect(refused.stderr).toMatch(/Connection refused/);

  await server.start();
  expect(server.port).toBe(port);
  // The known_hosts file still matches, so the host key survived the restart.
  expect(await runTool('ssh', sshArgs('echo hello'))).toMatchObject({ code: 0, stdout: 'hello\n' });
  // Sessions carry the marker the harness uses to find orphaned session processes.
  expect(await runTool('ssh', sshArgs('echo "$PARTNER_INGEST_SSHD"'))).toMatchObject({
    code: 0,
    stdout: `${path.dirname(server.configPath)}\n`,
  });
  await sftpRoundTrip();
});

test('dispose() leaves no sshd process behind and removes its files', async () => {
  const { configPath, rootDir } = server;
  expect(processesMatching(configPath).length).toBeGreaterThanOrEqual(1);
  await server.dispose();
  expect(processesMatching(configPath)).toEqual([]);
  expect(existsSync(configPath)).toBe(false);
  expect(existsSync(rootDir)).toBe(false);
  await server.dispose(); // idempotent
});
