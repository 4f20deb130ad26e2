/**
 * The local push endpoint's core: sftp-server's log lines in, Transfer
 * Family's work out. For each upload sftp-server reports closed, it puts the
 * file into the landing bucket where Transfer Family would have written it
 * (`pushed-uploads/<partner>/<name>`), then hands the same upload report
 * Transfer Family sends on EventBridge to the hand-off (src/sftp-push/handoff.ts
 * in every caller): `SFTP Server File Upload Completed` for a close,
 * `… Failed` with `PARTIAL_UPLOAD` for a forced close. A rename is applied to
 * the bucket as Transfer Family does on S3: a copy, then a delete.
 *
 * Every dependency (where a logged path is on this machine, how a file is
 * opened, the bucket, the hand-off) is passed in, so the order of events and
 * the rename race can be tested without sshd or S3; dev/sftp-push-endpoint.ts
 * wires it to sshd, moto and the hand-off.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PUSH_UPLOADS_PREFIX } from '../src/landing/layout';
import { messageOf, PartnerIngestError } from '../src/platform/errors';
import type { HandoffResult } from '../src/sftp-push/handoff';
import { UPLOAD_COMPLETED, UPLOAD_FAILED } from '../src/sftp-push/upload-event';
import { sftpServerLogEventOf, type SftpServerLogEvent } from './sftp-server-log';

export type LocalPushErrorCode = 'LOCAL_PUSH_PATH_OUTSIDE' | 'LOCAL_PUSH_FILE_GONE' | 'LOCAL_PUSH_SETUP';

/** What the local endpoint could not do; `code` is stable. */
export class LocalPushError extends PartnerIngestError<LocalPushErrorCode> {}

/** A logged path on this machine: the file, and its path inside the partner's folder (the S3 key's tail). */
export interface LocatedFile {
  readonly file: string;
  readonly name: string;
}

/** An open upload: a stream of its bytes and its size when opened. */
export interface OpenedFile {
  readonly body: Readable;
  readonly bytes: number;
  close(): Promise<void>;
}

/** A Transfer Family EventBridge event, as src/sftp-push/upload-event.ts reads it. */
export interface TransferUploadEvent {
  readonly version: '0';
  readonly id: string;
  readonly source: 'aws.transfer';
  readonly 'detail-type': typeof UPLOAD_COMPLETED | typeof UPLOAD_FAILED;
  readonly time: string;
  readonly detail: Record<string, string | number>;
}

/** What became of one logged upload or rename (for npm start's lines and the tests). */
export type Dispatched =
  | { readonly kind: 'upload'; readonly outcome: 'completed' | 'failed'; readonly key: string; readonly bytes: number; readonly result: HandoffResult }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly applied: boolean }
  | { readonly kind: 'error'; readonly path: string; readonly code: string; readonly message: string };

export interface PushDispatchDeps {
  readonly partner: string;
  /** Stands for Transfer Family's server id in the reports (and the hand-off id). */
  readonly serverId: string;
  readonly bucket: string;
  /** The file a path as the session logged it names, and its name in the partner folder; undefined outside the folder. */
  locate(loggedPath: string): LocatedFile | undefined;
  /** Opens a file for reading; undefined when there is no such file (renamed or removed since). */
  open(file: string): Promise<OpenedFile | undefined>;
  /** Streams an opened file to `key`; the stored object's ETag and size. */
  put(key: string, file: OpenedFile): Promise<{ readonly etag: string; readonly bytes: number }>;
  /** Copies `from` to `to` and deletes `from`; false when `from` is no object. */
  rename(from: string, to: string): Promise<boolean>;
  /** The hand-off, given the event Transfer Family would send. */
  handOff(event: TransferUploadEvent): Promise<HandoffResult>;
  readonly onDispatched?: (dispatched: Dispatched) => void;
  /**
   * How long a closed file that is already gone is looked for under the name a
   * later logged rename gives it. sftp-server logs the rename before it answers
   * the client, so the line is normally here already; this only covers the
   * log's own delivery delay.
   */
  readonly renameWaitMs?: number;
}

const DEFAULT_RENAME_WAIT_MS = 2_000;

/** Transfer Family's report of an upload's end (event-detail-server-events.html), for the hand-off. */
export function transferUploadEvent(fields: {
  outcome: 'completed' | 'failed';
  serverId: string;
  user: string;
  sessionId: string;
  bucket: string;
  key: string;
  etag: string;
  bytes: number;
}): TransferUploadEvent {
  const completed = fields.outcome === 'completed';
  return {
    version: '0',
    id: randomUUID(),
    source: 'aws.transfer',
    'detail-type': completed ? UPLOAD_COMPLETED : UPLOAD_FAILED,
    time: new Date().toISOString(),
    detail: {
      'status-code': completed ? 'COMPLETED' : 'FAILED',
      protocol: 'SFTP',
      bytes: fields.bytes,
      etag: fields.etag.replace(/"/g, ''),
      'file-path': `/${fields.bucket}/${fields.key}`,
      'server-id': fields.serverId,
      username: fields.user,
      'session-id': fields.sessionId,
      ...(completed ? {} : { 'failure-code': 'PARTIAL_UPLOAD', 'failure-message': 'the client closed the session before closing the file' }),
    },
  };
}

/**
 * Takes sftp-server's log lines (`accept`) and acts on them one at a time, in
 * log order: an upload must be in the bucket before a later rename of it is
 * applied there, as on Transfer Family's S3.
 */
export class PushUploadDispatcher {
  private readonly queue: SftpServerLogEvent[] = [];
  private working: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sequence = 0;
  private readonly startedAt = Date.now().toString(36);

  constructor(private readonly deps: PushDispatchDeps) {}

  /** One log line; lines that report no upload or rename are ignored. */
  accept(line: string): void {
    const event = sftpServerLogEventOf(line);
    if (!event) return;
    this.queue.push(event);
    this.wake?.();
    this.working ??= this.work().finally(() => {
      this.working = undefined;
    });
  }

  /** Resolves once every line accepted so far is dealt with. */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  private key(name: string): string {
    return `${PUSH_UPLOADS_PREFIX}${this.deps.partner}/${name}`;
  }

  private async work(): Promise<void> {
    for (let event = this.queue.shift(); event; event = this.queue.shift()) {
      try {
        if (event.kind === 'close') await this.upload(event);
        else await this.renamed(event);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        this.deps.onDispatched?.({
          kind: 'error',
          path: event.kind === 'close' ? event.path : event.from,
          code: typeof code === 'string' ? code : 'LOCAL_PUSH_FAILED',
          message: messageOf(error),
        });
      }
    }
  }

  private async upload(event: Extract<SftpServerLogEvent, { kind: 'close' }>): Promise<void> {
    const located = this.deps.locate(event.path);
    // Only without a chroot can a session write outside its folder; Transfer Family has no such path.
    if (!located) throw new LocalPushError('LOCAL_PUSH_PATH_OUTSIDE', `${event.path} is outside ${this.deps.partner}'s folder; not uploaded`);
    const opened = (await this.deps.open(located.file)) ?? (await this.openRenamed(event.path));
    if (!opened) throw new LocalPushError('LOCAL_PUSH_FILE_GONE', `${event.path} is gone (or no plain file) when read; not uploaded`);
    const key = this.key(located.name);
    let stored: { etag: string; bytes: number };
    try {
      stored = await this.deps.put(key, opened);
    } finally {
      await opened.close();
    }
    const result = await this.deps.handOff(
      transferUploadEvent({
        outcome: event.outcome,
        serverId: this.deps.serverId,
        user: this.deps.partner,
        // Transfer Family's session id names a session; here every report gets its own, so two uploads of the same bytes are two hand-offs.
        sessionId: `local-${event.session ?? 'session'}-${this.startedAt}-${++this.sequence}`,
        bucket: this.deps.bucket,
        key,
        etag: stored.etag,
        bytes: stored.bytes,
      }),
    );
    this.deps.onDispatched?.({ kind: 'upload', outcome: event.outcome, key, bytes: stored.bytes, result });
  }

  /**
   * A client that uploads to `x.filepart` renames it as soon as the close is
   * answered, which can be before its log line is read here: follow the renames
   * logged after the close to where the file is now.
   */
  private async openRenamed(path: string): Promise<OpenedFile | undefined> {
    const deadline = Date.now() + (this.deps.renameWaitMs ?? DEFAULT_RENAME_WAIT_MS);
    let tried = path;
    for (;;) {
      let current = path;
      for (const later of this.queue) if (later.kind === 'rename' && later.from === current) current = later.to;
      if (current !== tried) {
        tried = current;
        const located = this.deps.locate(current);
        const opened = located && (await this.deps.open(located.file));
        if (opened) return opened;
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async renamed(event: Extract<SftpServerLogEvent, { kind: 'rename' }>): Promise<void> {
    const from = this.deps.locate(event.from);
    const to = this.deps.locate(event.to);
    if (!from || !to) return;
    const applied = await this.deps.rename(this.key(from.name), this.key(to.name));
    this.deps.onDispatched?.({ kind: 'rename', from: this.key(from.name), to: this.key(to.name), applied });
  }
}
