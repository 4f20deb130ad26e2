/**
 * The local stand-in for the stage's Transfer Family SFTP endpoint, for one
 * push partner: its own OpenSSH sshd (dev/sshd.ts) on a loopback port, key
 * authentication only (the partner's configured keys plus one generated here,
 * whose private key the local stack prints), and a folder that is the
 * partner's whole view. sshd authenticates OS users only, so the login is the
 * current OS user and the port tells the partners apart; in AWS the login is
 * the partner id.
 *
 * Isolation. As root (CI, containers), the session is chrooted
 * (`ChrootDirectory`) into the partner's folder, under a root-owned folder no
 * one else may write (sshd's rule for every component of the path, hence not
 * under /tmp): another partner's files have no path. Not as root, sshd cannot
 * chroot: the session starts in the partner's folder but can read and write
 * whatever the OS user can; only uploads inside the folder are put in the
 * bucket, so nothing written elsewhere is handed to any partner.
 *
 * The completed-upload signal is sftp-server's own log (dev/sftp-server-log.ts).
 * sshd's log (`-e`, `-E file`) never carries it: sshd stops redirecting its log
 * before a session runs, and sftp-server logs to syslog. So:
 * - chrooted: internal-sftp (`-l INFO`) logs to `/dev/log` inside the chroot,
 *   i.e. `<folder>/dev/log`, where a stream socket of ours listens (glibc's
 *   syslog falls back to a stream socket and ends each record with NUL). The
 *   partner sees that `dev` folder; Transfer Family shows none.
 * - not chrooted: the sftp-server binary with `-e` logs to its stderr, which
 *   the Subsystem command (run by the user's shell) appends to a file we tail.
 * The lines go to PushUploadDispatcher, which puts each upload into the landing
 * bucket and calls the hand-off.
 */
import { constants as fsConstants, rmSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { findExecutable } from './executables';
import { LocalPushError, PushUploadDispatcher, type Dispatched, type OpenedFile, type PushDispatchDeps } from './push-upload-dispatch';
import { splitLogRecords } from './sftp-server-log';
import { startSshd, type SshdServer } from './sshd';

export type PushIsolation = 'chroot' | 'none';

export interface PushEndpointOptions {
  readonly partner: string;
  /** The partner's configured keys (`sources.sftpPush.publicKeys`), authorized besides the generated one. */
  readonly publicKeys: readonly string[];
  readonly s3: S3Client;
  readonly bucket: string;
  readonly handOff: PushDispatchDeps['handOff'];
  readonly onDispatched?: (dispatched: Dispatched) => void;
  /** Default: `chroot` as root, `none` otherwise. `chroot` without root fails (LOCAL_PUSH_SETUP). */
  readonly isolation?: PushIsolation;
}

export interface PushEndpoint {
  readonly partner: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The OS user to log in as (sshd authenticates OS users; the port names the partner). */
  readonly username: string;
  /** The generated key authorized for this partner (mode 0600), for `sftp -i`. */
  readonly privateKeyFile: string;
  /** known_hosts pinning this endpoint's host key (`-o UserKnownHostsFile=`). */
  readonly knownHostsFile: string;
  readonly hostKeyFingerprint: string;
  /** Stands for Transfer Family's server id in the upload reports: the endpoint's address. */
  readonly serverId: string;
  /** The partner's folder on this machine (its `/` when chrooted). */
  readonly folder: string;
  /** Where the client's `/` is: `/` chrooted, else the folder itself (sftp's start directory). */
  readonly remoteDir: string;
  readonly isolation: PushIsolation;
  /** A ready `sftp` command: the generated key, the host key pinned. */
  readonly sftpCommand: string;
  /** Resolves once every log line so far is dealt with (uploaded and handed off). */
  idle(): Promise<void>;
  /** Kills the live SSH sessions (a connection cut mid-transfer). */
  killSessions(): Promise<number>;
  dispose(): Promise<void>;
}

/**
 * Where chroots are made. Every component of a ChrootDirectory must be owned by
 * root and writable by no one else (sshd refuses it otherwise), which rules out
 * /tmp; /run is root's.
 */
const CHROOT_BASE = process.env.PARTNER_INGEST_PUSH_CHROOT_BASE ?? '/run/partner-ingest-push';

const isRoot = () => process.getuid?.() === 0;

/** Folders of endpoints not yet disposed, removed if the process exits without dispose() (sshd's own hook kills sshd). */
const liveFolders = new Set<string>();
process.once('exit', () => {
  for (const dir of liveFolders) rmSync(dir, { recursive: true, force: true });
});

async function checkChrootPath(dir: string): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const info = await lstat(current);
    if (info.uid !== 0 || (info.mode & 0o022) !== 0) {
      throw new LocalPushError('LOCAL_PUSH_SETUP', `${current} must be owned by root and writable by no one else to chroot under it (sshd's rule); set PARTNER_INGEST_PUSH_CHROOT_BASE`);
    }
    if (current === path.dirname(current)) return;
  }
}

function findSftpServer(): string {
  const found = findExecutable('sftp-server', ['/usr/lib/openssh', '/usr/libexec/openssh', '/usr/libexec', '/usr/lib/ssh', '/usr/lib/misc']);
  if (!found) throw new LocalPushError('LOCAL_PUSH_SETUP', 'OpenSSH sftp-server binary not found (apt-get install -y openssh-server)');
  return found;
}

/** A path must survive sshd's config parser and the user's shell unquoted. */
function plainPath(value: string): string {
  if (!/^[\w./+-]+$/.test(value)) throw new LocalPushError('LOCAL_PUSH_SETUP', `path ${value} has characters the Subsystem line cannot carry unquoted`);
  return value;
}

/**
 * The file a path sftp-server logged names on this machine, and its name in the
 * partner folder. `sessionRoot` is the folder as the session names it (`/`
 * chrooted, its host path otherwise), where relative paths start (sftp-server
 * runs with `-d` there). Undefined outside the folder, or for the folder itself.
 */
export function locateLoggedPath(folder: string, sessionRoot: string, loggedPath: string): { file: string; name: string } | undefined {
  const resolved = path.posix.resolve(sessionRoot, loggedPath);
  const base = sessionRoot === '/' ? '/' : `${sessionRoot}/`;
  if (!resolved.startsWith(base) || resolved === sessionRoot) return undefined;
  const name = resolved.slice(base.length);
  return { file: path.join(folder, name), name };
}

/**
 * Opens an upload for reading, refusing symlinks: chrooted, the session runs as
 * root and could swap its file for a link that, read from outside the chroot,
 * would name a host file. O_NOFOLLOW covers the last component, the realpath
 * check the folders above it.
 */
export async function openUpload(folder: string, file: string): Promise<OpenedFile | undefined> {
  try {
    const [dir, root] = await Promise.all([realpath(path.dirname(file)), realpath(folder)]);
    if (dir !== root && !dir.startsWith(`${root}/`)) return undefined;
    const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return undefined;
    }
    return { body: handle.createReadStream({ autoClose: false }), bytes: info.size, close: () => handle.close() };
  } catch (error) {
    // ELOOP: the name is a symlink (O_NOFOLLOW).
    if (['ENOENT', 'ELOOP', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/** lib-storage: a multipart upload past one part, streaming (memory about partSize × (queueSize + 1)). */
async function putStreaming(s3: S3Client, bucket: string, key: string, file: OpenedFile) {
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: file.body, ContentLength: file.bytes }, partSize: 8 * 1024 * 1024, queueSize: 2 });
  const done = await upload.done();
  if (!done.ETag) throw new Error(`no ETag for s3://${bucket}/${key}`);
  return { etag: done.ETag, bytes: file.bytes };
}

async function renameObject(s3: S3Client, bucket: string, from: string, to: string): Promise<boolean> {
  try {
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: `${bucket}/${encodeURIComponent(from)}` }));
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
  return true;
}

/** Polls a log file for appended records (the sftp-server -e mode). */
function tailFile(file: string, onChunk: (chunk: string) => void): { stop(): Promise<void> } {
  let offset = 0;
  let reading: Promise<void> = Promise.resolve();
  const read = async () => {
    const { size } = await stat(file);
    if (size <= offset) return;
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      onChunk(buffer.subarray(0, bytesRead).toString('utf8'));
    } finally {
      await handle.close();
    }
  };
  const timer = setInterval(() => {
    reading = reading.then(read).catch(() => undefined);
  }, 100);
  return {
    async stop() {
      clearInterval(timer);
      await reading;
      await read().catch(() => undefined);
    },
  };
}

/** A stream socket at `socketPath` that syslog(3) inside the chroot connects to. */
async function listenSyslog(socketPath: string, onChunk: (chunk: string) => void): Promise<Server> {
  const server = createServer((connection) => {
    let pending = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      const { lines, rest } = splitLogRecords(pending, chunk);
      pending = rest;
      for (const line of lines) onChunk(`${line}\n`);
    });
    connection.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

/**
 * Starts the partner's local endpoint. Uploads are dispatched until dispose();
 * a failure to start leaves nothing running.
 */
export async function startPushEndpoint(options: PushEndpointOptions): Promise<PushEndpoint> {
  const isolation = options.isolation ?? (isRoot() ? 'chroot' : 'none');
  if (isolation === 'chroot' && !isRoot()) throw new LocalPushError('LOCAL_PUSH_SETUP', 'a chroot needs root (sshd only chroots as root)');
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    let workDir: string;
    if (isolation === 'chroot') {
      await mkdir(CHROOT_BASE, { recursive: true, mode: 0o755 });
      workDir = await mkdtemp(path.join(CHROOT_BASE, 'p-'));
      await chmod(workDir, 0o755);
      await checkChrootPath(workDir);
    } else {
      workDir = await mkdtemp(path.join(tmpdir(), 'partner-ingest-push-'));
      await chmod(workDir, 0o700);
    }
    liveFolders.add(workDir);
    cleanups.push(async () => {
      await rm(workDir, { recursive: true, force: true });
      liveFolders.delete(workDir);
    });
    const folder = path.join(workDir, options.partner);
    await mkdir(folder, { mode: 0o755 });

    let dispatcher: PushUploadDispatcher | undefined;
    const feed = (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim() !== '') dispatcher?.accept(line);
    };
    let sshd: SshdServer;
    let stopLog: () => Promise<void>;
    let sessionRoot: string;
    if (isolation === 'chroot') {
      await mkdir(path.join(folder, 'dev'), { mode: 0o755 });
      const server = await listenSyslog(path.join(folder, 'dev', 'log'), feed);
      stopLog = () => new Promise<void>((resolve) => server.close(() => resolve()));
      cleanups.push(stopLog);
      sessionRoot = '/';
      sshd = await startSshd({
        rootDir: folder,
        // -d /: relative paths start at the chroot's top whatever the user's home is.
        sftpSubsystem: 'internal-sftp -l INFO -d /',
        extraAuthorizedKeys: options.publicKeys,
        extraConfig: [`ChrootDirectory ${folder}`],
      });
    } else {
      const logFile = path.join(workDir, 'sftp-server.log');
      await writeFile(logFile, '', { mode: 0o600 });
      const tail = tailFile(logFile, feed);
      stopLog = () => tail.stop();
      cleanups.push(stopLog);
      sessionRoot = folder;
      sshd = await startSshd({
        rootDir: folder,
        sftpSubsystem: `${plainPath(findSftpServer())} -e -l INFO -d ${plainPath(folder)} 2>>${plainPath(logFile)}`,
        extraAuthorizedKeys: options.publicKeys,
      });
    }
    cleanups.push(() => sshd.dispose());
    const serverId = `${sshd.host}:${sshd.port}`;
    dispatcher = new PushUploadDispatcher({
      partner: options.partner,
      serverId,
      bucket: options.bucket,
      locate: (loggedPath) => locateLoggedPath(folder, sessionRoot, loggedPath),
      open: (file) => openUpload(folder, file),
      put: (key, file) => putStreaming(options.s3, options.bucket, key, file),
      rename: (from, to) => renameObject(options.s3, options.bucket, from, to),
      handOff: options.handOff,
      ...(options.onDispatched ? { onDispatched: options.onDispatched } : {}),
    });
    const remoteDir = isolation === 'chroot' ? '/' : folder;
    let disposed = false;
    return {
      partner: options.partner,
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKeyFile: sshd.privateKeyFile,
      knownHostsFile: sshd.knownHostsFile,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      serverId,
      folder,
      remoteDir,
      isolation,
      sftpCommand: `sftp -i ${sshd.privateKeyFile} -P ${sshd.port} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${sshd.knownHostsFile} ${sshd.username}@${sshd.host}`,
      idle: () => dispatcher!.idle(),
      killSessions: () => sshd.killSessions(),
      async dispose() {
        if (disposed) return;
        disposed = true;
        // Sessions first (their last lines, a forced close, are still dispatched), then the log, then the rest.
        await sshd.stop();
        await stopLog();
        await dispatcher!.idle();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

