/**
 * The local SFTP push endpoint's completed-upload signal: OpenSSH's sftp-server
 * (internal-sftp or the sftp-server binary, at `-l INFO`) logs every file
 * handle it closes as `close "<path>" bytes read <r> written <w>`, and a handle
 * still open when the session ends (the client went away mid-transfer) as
 * `forced close "<path>" bytes read <r> written <w>` (the format string
 * `%s%sclose "%s" bytes read %llu written %llu` of sftp-server.c). A plain close
 * of a handle that wrote bytes is a completed upload, a forced one a failed
 * (partial) upload: the two reports Transfer Family sends in AWS. A rename is
 * logged as `rename old "<a>" new "<b>"` (`posix-rename …` when the client
 * uses the OpenSSH extension, as OpenSSH's own `sftp` does).
 *
 * Where the lines come from (checked with OpenSSH 9.2, Debian bookworm): not
 * from sshd's own log (`-e` or `-E file`): sshd stops redirecting its log
 * before it runs a session (session.c child_close_fds), and sftp-server then
 * logs to syslog, i.e. to `/dev/log` as the session sees it (inside its chroot),
 * or with `-e` to its stderr. dev/sftp-push-endpoint.ts takes either.
 */
export interface SftpServerClose {
  readonly outcome: 'completed' | 'failed';
  /** The path as the session saw it (inside its chroot). */
  readonly path: string;
  readonly bytesWritten: number;
}

/** One line of sftp-server's log that the push endpoint acts on. */
export type SftpServerLogEvent =
  | ({ readonly kind: 'close'; readonly session?: string } & SftpServerClose)
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly session?: string };

/** The path is printed raw (`%s`, no escaping): greedy up to the fixed tail, so a name holding `"` stays whole. */
const CLOSE_LINE = /(?:^|[\s:])(forced )?close "(.*)" bytes read (\d+) written (\d+)\s*$/;
/** `rename` and `posix-rename` (sftp-server.c process_rename / process_extended_posix_rename). */
const RENAME_LINE = /(?:^|[\s:])(?:posix-)?rename old "(.*)" new "(.*)"\s*$/;
/** Syslog's tag, `internal-sftp[<pid>]:` or `sftp-server[<pid>]:`: the session's process. */
const SESSION_TAG = /(?:internal-sftp|sftp-server)\[(\d+)\]:/;

/**
 * The upload a log line reports, or undefined for any other line and for a
 * handle that wrote nothing (a download, or a file opened and closed unwritten).
 */
export function uploadOfLogLine(line: string): SftpServerClose | undefined {
  const match = CLOSE_LINE.exec(line);
  if (!match) return undefined;
  const bytesWritten = Number(match[4]);
  if (bytesWritten === 0) return undefined;
  return { outcome: match[1] ? 'failed' : 'completed', path: match[2]!, bytesWritten };
}

/** An upload's end or a rename, with the session's pid when the line carries syslog's tag; undefined for anything else. */
export function sftpServerLogEventOf(line: string): SftpServerLogEvent | undefined {
  const session = SESSION_TAG.exec(line)?.[1];
  const upload = uploadOfLogLine(line);
  if (upload) return { kind: 'close', ...upload, ...(session ? { session } : {}) };
  const rename = RENAME_LINE.exec(line);
  if (rename) return { kind: 'rename', from: rename[1]!, to: rename[2]!, ...(session ? { session } : {}) };
  return undefined;
}

/**
 * Splits a byte stream of log records into lines: syslog over a stream socket
 * ends each record with NUL (glibc), sftp-server's `-e` stderr with CRLF.
 * Returns the complete lines and keeps the unfinished rest for the next chunk.
 */
export function splitLogRecords(pending: string, chunk: string): { lines: string[]; rest: string } {
  const parts = (pending + chunk).split(/\0|\r?\n/);
  const rest = parts.pop() ?? '';
  return { lines: parts.filter((part) => part.trim() !== ''), rest };
}
