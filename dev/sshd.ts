import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './ports';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable, pathDirs } from './executables';
import { MissingPrerequisiteError } from './moto-server';

export { MissingPrerequisiteError };

/**
 * A private OpenSSH server on a loopback port, with generated host and user
 * keys, for SFTP tests and the local dev stack. It never reads or changes the
 * system's sshd configuration: everything lives in a private temp dir.
 */
export interface SshdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The OS user sshd authenticates (the current user). */
  readonly username: string;
  /** OpenSSH-format private key (ed25519) authorized on this server. */
  readonly privateKey: string;
  /** The same key as a file (mode 0600), for `ssh -i` / `sftp -i`. */
  readonly privateKeyFile: string;
  /** A known_hosts file pinning this server's host key at its address (`-o UserKnownHostsFile=`). */
  readonly knownHostsFile: string;
  /** 'SHA256:<base64 without padding>', as `ssh-keygen -lf host_key.pub` prints it. */
  readonly hostKeyFingerprint: string;
  /** The host key's .pub line (`ssh-ed25519 AAAA... comment`). */
  readonly hostPublicKey: string;
  /** Directory for the files the server serves (absolute path; sftp sees the whole filesystem). */
  readonly rootDir: string;
  /** The generated sshd_config (absolute path); it appears in the listener's command line. */
  readonly configPath: string;
  /** Kills every live SSH session (the per-connection sshd children and what they run) but keeps the listener. */
  killSessions(): Promise<number>;
  /**
   * Freezes (SIGSTOP) every live session: a server that hangs, its connections
   * open and nothing answered. New connections are served; killSessions() ends
   * the frozen ones.
   */
  freezeSessions(): Promise<number>;
  /** Stops the listener (and sessions); `start()` again brings it back on the SAME port with the SAME keys. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes the temp dir (and rootDir, unless the caller supplied it). */
  dispose(): Promise<void>;
}

export interface StartSshdOptions {
  /** Serve this directory instead of a fresh temp dir (created if missing, never removed). */
  rootDir?: string;
  /**
   * Extra sshd_config lines. sshd keeps the FIRST value of most keywords, so these
   * lines are placed before the harness defaults and override them; lines from the
   * first `Match` onwards go at the end of the file.
   */
  extraConfig?: string[];
  /**
   * The `Subsystem sftp` command (default `internal-sftp`). An option rather
   * than extraConfig: sshd refuses a second `Subsystem sftp` line, so the
   * harness's default cannot be overridden by one placed before it.
   */
  sftpSubsystem?: string;
  /** Public key lines (authorized_keys format) authorized besides the generated user key: a partner's configured keys. */
  extraAuthorizedKeys?: readonly string[];
}

const HOST = '127.0.0.1' as const;
const READY_TIMEOUT_MS = 10_000;
const INSTALL_HINT = 'apt-get install -y openssh-server';

/** Servers not yet disposed, killed synchronously if the process exits without dispose(). */
const live = new Set<{ emergencyStop(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of live) server.emergencyStop();
  });
}

function findSshd(): string {
  const sshd = findExecutable('sshd', ['/usr/sbin', ...pathDirs(), '/usr/local/sbin', '/sbin']);
  if (!sshd) throw new MissingPrerequisiteError(`OpenSSH server (sshd) is not installed: ${INSTALL_HINT}`);
  return sshd;
}

/** [major, minor] of the sshd binary (0,0 if unknown). `-V` exists since 9.x; older versions print it in the usage text. */
function sshdVersion(sshd: string): [number, number] {
  const run = spawnSync(sshd, ['-V'], { encoding: 'utf8', timeout: 5_000 });
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new MissingPrerequisiteError(`${file} is not installed: apt-get install -y openssh-client openssh-server`));
        } else {
          reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`));
        }
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

async function generateKey(file: string, comment: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** SHA256 fingerprint of a .pub line, formatted like `ssh-keygen -l`. */
function fingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key: ${publicKeyLine}`);
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** Quotes a config argument when needed (sshd's parser understands double quotes). */
function arg(value: string): string {
  return /[\s"#]/.test(value) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : value;
}

// ---------------------------------------------------------------------------
// Process handling. Each connection's sshd child calls setsid(), so sessions are
// neither in the listener's process group nor killed with it; the link is the
// parent pid. Killing only the per-connection child orphans the command it runs
// (a `sleep 30` survives), and so does a client that disconnects (sshd sends no
// SIGHUP to commands without a pty). So whole subtrees are killed, plus every
// process carrying this server's marker variable (set with SetEnv), orphan or not.

/** Environment variable sshd sets in every session; its value is the harness's temp dir. */
export const SESSION_MARKER_VARIABLE = 'PARTNER_INGEST_SSHD';

interface Proc {
  pid: number;
  ppid: number;
  zombie: boolean;
}

function processTable(): Proc[] {
  if (existsSync('/proc/self/stat')) {
    const procs: Proc[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        procs.push({ pid: Number(entry), ppid: Number(fields[1]), zombie: fields[0] === 'Z' || fields[0] === 'X' });
      } catch {
        // exited while we were reading
      }
    }
    return procs;
  }
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
  return (ps.stdout ?? '')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3)
    .map(([pid, ppid, stat]) => ({ pid: Number(pid), ppid: Number(ppid), zombie: (stat ?? '').startsWith('Z') }));
}

function descendants(table: Proc[], root: number): Proc[] {
  const byParent = new Map<number, Proc[]>();
  for (const proc of table) {
    if (proc.zombie) continue;
    const siblings = byParent.get(proc.ppid) ?? [];
    siblings.push(proc);
    byParent.set(proc.ppid, siblings);
  }
  const found: Proc[] = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of byParent.get(parent) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Live processes whose environment holds `entry` (Linux /proc only). */
function marked(table: Proc[], entry: string): Proc[] {
  const needle = Buffer.from(`\0${entry}\0`);
  return table.filter((proc) => {
    if (proc.zombie || proc.pid === process.pid) return false;
    try {
      return Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${proc.pid}/environ`), Buffer.from([0])]).includes(needle);
    } catch {
      return false;
    }
  });
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGSTOPs every descendant of `root` and every process whose environment holds
 * `markerEntry`, repeating until no new ones appear, so nothing can fork away.
 * Returns the frozen pids and how many were direct children of `root` (the
 * per-connection sshd processes, i.e. sessions).
 */
function freezeSessionProcesses(root: number | undefined, markerEntry: string): { pids: number[]; direct: number } {
  const frozen = new Map<number, Proc>();
  for (let round = 0; round < 20; round += 1) {
    const table = processTable();
    const candidates = [...(root === undefined ? [] : descendants(table, root)), ...marked(table, markerEntry)];
    const fresh = candidates.filter((proc) => !frozen.has(proc.pid));
    if (!fresh.length) break;
    for (const proc of fresh) if (signal(proc.pid, 'SIGSTOP')) frozen.set(proc.pid, proc);
  }
  const procs = [...frozen.values()];
  return { pids: procs.map((proc) => proc.pid), direct: procs.filter((proc) => proc.ppid === root).length };
}

/** Freezes the sessions (see freezeSessionProcesses), then SIGKILLs them all. */
function killSessionProcesses(root: number | undefined, markerEntry: string): { pids: number[]; direct: number } {
  const frozen = freezeSessionProcesses(root, markerEntry);
  for (const pid of frozen.pids) signal(pid, 'SIGKILL');
  return frozen;
}

async function waitGone(pids: number[], timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = new Set(processTable().filter((proc) => !proc.zombie).map((proc) => proc.pid));
    if (!pids.some((pid) => alive.has(pid)) || Date.now() > deadline) return;
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------

/** Resolves once something on the port sends an SSH identification string. */
function probeBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('SSH-2.0-')) done(true);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

function markerEntry(dir: string): string {
  return `${SESSION_MARKER_VARIABLE}=${dir}`;
}

function buildConfig(opts: {
  port: number;
  dir: string;
  markerEntry: string;
  hostKey: string;
  authorizedKeys: string;
  version: [number, number];
  extraConfig: string[];
  sftpSubsystem: string;
}): string {
  const matchAt = opts.extraConfig.findIndex((line) => /^\s*Match\s/i.test(line));
  let extraTop = matchAt === -1 ? opts.extraConfig : opts.extraConfig.slice(0, matchAt);
  const extraMatch = matchAt === -1 ? [] : opts.extraConfig.slice(matchAt);
  // SHLVL=1 makes bash skip ~/.bashrc for `ssh host command` (Debian's bash sources it
  // when SSH_CLIENT is set and SHLVL < 2), so exec sessions do not depend on, or get
  // killed halfway through, the user's dotfiles. internal-sftp runs no shell at all.
  // sshd only honours the FIRST SetEnv line, so ours is merged into the caller's
  // (later assignments win, so the caller can still override SHLVL).
  const ourEnv = `SHLVL=1 ${arg(opts.markerEntry)}`;
  const setEnvAt = extraTop.findIndex((line) => /^\s*SetEnv\s/i.test(line));
  let setEnvLine = `SetEnv ${ourEnv}`;
  if (setEnvAt !== -1) {
    setEnvLine = (extraTop[setEnvAt] ?? '').replace(/^\s*SetEnv\s+/i, `SetEnv ${ourEnv} `);
    extraTop = extraTop.filter((_, index) => index !== setEnvAt);
  }
  const [major, minor] = opts.version;
  const lines = [
    '# Generated by partner-ingest dev/sshd.ts for tests and the local stack.',
    ...extraTop,
    setEnvLine,
    `ListenAddress ${HOST}`,
    `Port ${opts.port}`,
    `HostKey ${arg(opts.hostKey)}`,
    `PidFile ${arg(path.join(opts.dir, 'sshd.pid'))}`,
    // % starts a token in AuthorizedKeysFile, so escape it.
    `AuthorizedKeysFile ${arg(opts.authorizedKeys.replace(/%/g, '%%'))}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    `Subsystem sftp ${opts.sftpSubsystem}`,
    'LogLevel ERROR',
    'UseDNS no',
    'MaxStartups 100',
    'MaxSessions 100',
    'MaxAuthTries 10',
    'LoginGraceTime 30',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'AllowAgentForwarding no',
    // OpenSSH >= 9.8 penalises addresses whose connections fail or crash; the
    // harness kills sessions on purpose and probes the port, so turn it off.
    ...(major > 9 || (major === 9 && minor >= 8) ? ['PerSourcePenalties no'] : []),
    ...extraMatch,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Starts a private sshd (OpenSSH, `/usr/sbin/sshd -D -e -f <config>`) on a free
 * loopback port and waits until it presents an SSH banner.
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdServer> {
  const sshd = findSshd();
  const version = sshdVersion(sshd);
  if (process.platform === 'linux') {
    // Privilege separation chroots into /run/sshd; Debian creates it only from
    // the systemd unit, so containers usually lack it. Only root can (and needs to).
    try {
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    } catch (error) {
      if (process.getuid?.() === 0) throw error;
    }
  }

  const dir = await mkdtemp(path.join(tmpdir(), 'partner-ingest-sshd-'));
  let server: Harness | undefined;
  try {
    await chmod(dir, 0o700);
    const ownsRoot = options.rootDir === undefined;
    const rootDir = path.resolve(options.rootDir ?? path.join(dir, 'root'));
    await mkdir(rootDir, { recursive: true });

    const hostKey = path.join(dir, 'host_ed25519_key');
    const userKey = path.join(dir, 'user_ed25519_key');
    await Promise.all([generateKey(hostKey, 'partner-ingest-sshd-host'), generateKey(userKey, 'partner-ingest-sshd-user')]);
    const [hostPublicKey, privateKey, userPublicKey] = await Promise.all([
      readFile(`${hostKey}.pub`, 'utf8'),
      readFile(userKey, 'utf8'),
      readFile(`${userKey}.pub`, 'utf8'),
    ]);
    const authorizedKeys = path.join(dir, 'authorized_keys');
    const extraKeys = (options.extraAuthorizedKeys ?? []).map((line) => line.trim()).filter((line) => line !== '');
    await writeFile(authorizedKeys, [userPublicKey.trim(), ...extraKeys].join('\n') + '\n', { mode: 0o600 });

    const port = await freePort();
    const knownHostsFile = path.join(dir, 'known_hosts');
    await writeFile(knownHostsFile, `[${HOST}]:${port} ${hostPublicKey.trim()}\n`);
    const configPath = path.join(dir, 'sshd_config');
    await writeFile(
      configPath,
      buildConfig({
        port,
        dir,
        markerEntry: markerEntry(dir),
        hostKey,
        authorizedKeys,
        version,
        extraConfig: options.extraConfig ?? [],
        sftpSubsystem: options.sftpSubsystem ?? 'internal-sftp',
      }),
      { mode: 0o600 },
    );

    server = new Harness({
      sshd,
      dir,
      ownsRoot,
      port,
      username: userInfo().username,
      privateKey,
      privateKeyFile: userKey,
      knownHostsFile,
      hostPublicKey: hostPublicKey.trim(),
      hostKeyFingerprint: fingerprint(hostPublicKey),
      rootDir,
      configPath,
    });
    await server.start();
    return server;
  } catch (error) {
    if (server) await server.dispose();
    else await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

interface HarnessInit {
  sshd: string;
  dir: string;
  ownsRoot: boolean;
  port: number;
  username: string;
  privateKey: string;
  privateKeyFile: string;
  knownHostsFile: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
  rootDir: string;
  configPath: string;
}

class Harness implements SshdServer {
  readonly host = HOST;
  readonly port: number;
  readonly username: string;
  readonly privateKey: string;
  readonly privateKeyFile: string;
  readonly knownHostsFile: string;
  readonly hostKeyFingerprint: string;
  readonly hostPublicKey: string;
  readonly rootDir: string;
  readonly configPath: string;

  private readonly sshd: string;
  private readonly dir: string;
  private readonly ownsRoot: boolean;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(init: HarnessInit) {
    this.sshd = init.sshd;
    this.dir = init.dir;
    this.ownsRoot = init.ownsRoot;
    this.port = init.port;
    this.username = init.username;
    this.privateKey = init.privateKey;
    this.privateKeyFile = init.privateKeyFile;
    this.knownHostsFile = init.knownHostsFile;
    this.hostKeyFingerprint = init.hostKeyFingerprint;
    this.hostPublicKey = init.hostPublicKey;
    this.rootDir = init.rootDir;
    this.configPath = init.configPath;
    live.add(this);
    installExitHook();
  }

  /** Runs lifecycle operations one at a time. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private running(): ChildProcess | undefined {
    const child = this.child;
    return child?.pid && child.exitCode === null && child.signalCode === null ? child : undefined;
  }

  start(): Promise<void> {
    return this.serial(async () => {
      if (this.disposed) throw new Error('sshd harness was disposed');
      if (this.running()) return;
      this.stderr = '';
      // Not detached: the listener stays in our process group, so Ctrl+C in a terminal
      // stops it too (the 'exit' hook does not run when Node dies of a signal).
      const child = spawn(this.sshd, ['-D', '-e', '-f', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.child = child;
      this.exited = new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', (error) => {
          this.stderr += `\n${error.message}`;
          resolve();
        });
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString()).slice(-8000);
      });

      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (!this.running()) {
          await this.exited;
          this.child = undefined;
          throw new Error(`sshd exited early (code ${child.exitCode}, signal ${child.signalCode}): ${this.stderr.trim()}`);
        }
        if (await probeBanner(this.port, 1_000)) return;
        if (Date.now() > deadline) {
          await this.halt();
          throw new Error(`sshd did not present an SSH banner on ${HOST}:${this.port} within ${READY_TIMEOUT_MS} ms: ${this.stderr.trim()}`);
        }
        await sleep(50);
      }
    });
  }

  killSessions(): Promise<number> {
    return this.serial(async () => {
      const { pids, direct } = killSessionProcesses(this.running()?.pid, markerEntry(this.dir));
      await waitGone(pids);
      return direct;
    });
  }

  freezeSessions(): Promise<number> {
    return this.serial(async () => freezeSessionProcesses(this.running()?.pid, markerEntry(this.dir)).direct);
  }

  stop(): Promise<void> {
    return this.serial(() => this.halt());
  }

  private async halt(): Promise<void> {
    const pid = this.running()?.pid;
    // Freeze the listener so it cannot fork new sessions while they are killed.
    if (pid) signal(pid, 'SIGSTOP');
    const { pids } = killSessionProcesses(pid, markerEntry(this.dir));
    if (pid) {
      signal(pid, 'SIGTERM');
      signal(pid, 'SIGCONT');
      const killer = setTimeout(() => signal(pid, 'SIGKILL'), 3_000);
      await this.exited;
      clearTimeout(killer);
    }
    await waitGone(pids);
    this.child = undefined;
  }

  dispose(): Promise<void> {
    return this.serial(async () => {
      if (this.disposed) return;
      await this.halt();
      this.disposed = true;
      live.delete(this);
      await rm(this.dir, { recursive: true, force: true });
      if (this.ownsRoot) await rm(this.rootDir, { recursive: true, force: true });
    });
  }

  /** Synchronous last-resort cleanup from the process 'exit' hook. */
  emergencyStop(): void {
    const pid = this.running()?.pid;
    if (pid) signal(pid, 'SIGSTOP');
    killSessionProcesses(pid, markerEntry(this.dir));
    if (pid) signal(pid, 'SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
      if (this.ownsRoot) rmSync(this.rootDir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}
