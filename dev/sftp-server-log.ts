/**
 * The local SFTP push endpoint's completed-upload signal: OpenSSH's sftp-server
 * (internal-sftp, at `-l INFO`) logs every file handle it closes as
 * `close "<path>" bytes read <r> written <w>`, and a handle still open when the
 * session ends (the client went away mid-transfer) as
 * `forced close "<path>" bytes read <r> written <w>` (the format string
 * `%s%sclose "%s" bytes read %llu written %llu` of sftp-server.c). A plain close
 * of a handle that wrote bytes is a completed upload, a forced one a failed
 * (partial) upload: the two reports Transfer Family sends in AWS.
 *
 * Only the line format is settled here (checked against the format string in
 * OpenSSH 9.2's sftp-server and sshd binaries). How the local endpoint gets the
 * lines is not: a first try with the harness's `sshd -D -e` and
 * `ForceCommand internal-sftp -l INFO` showed none on the listener's stderr
 * (`Subsystem` cannot be redefined through extraConfig). Next: log to a file
 * via `-f`/syslog, or run sftp-server (not internal-sftp) per session.
 */
export interface SftpServerClose {
  readonly outcome: 'completed' | 'failed';
  /** The path as the session saw it (inside its chroot). */
  readonly path: string;
  readonly bytesWritten: number;
}

/** The path is printed raw (`%s`, no escaping): greedy up to the fixed tail, so a name holding `"` stays whole. */
const CLOSE_LINE = /(?:^|[\s:])(forced )?close "(.*)" bytes read (\d+) written (\d+)\s*$/;

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
