import type { SftpSource } from '../config/types';
import { within } from './errors';

/** Runs one call to the partner's server under a deadline; `step` names it in the SftpTimeoutError. */
export type Deadline = <T>(call: Promise<T>, step: string) => Promise<T>;

export interface RemoteDeadlines {
  /** Connecting: TCP, key exchange, host key check, authentication (`connectSeconds`). */
  readonly connect: Deadline;
  /** Listing the remote directory, however many READDIR requests it takes (`listSeconds`). */
  readonly list: Deadline;
  /** Every other request: open, each read, fstat, stat, exists, mkdir, rename, delete, closing a file (`stallSeconds`). */
  readonly request: Deadline;
  /** Closing the connection (`endSeconds`). */
  readonly end: Deadline;
}

/**
 * sftp-pull's one timeout policy: every call to a partner's server runs under
 * a deadline from the partner's `timeouts`, and a missed deadline closes the
 * connection at once. A server that stops answering then holds neither that
 * call nor any other (they fail on the closed connection), where it would
 * otherwise hold the run until the Lambda's own timeout.
 */
export function remoteDeadlines(timeouts: SftpSource['timeouts'], closeConnection: () => void): RemoteDeadlines {
  const after =
    (seconds: number): Deadline =>
    (call, step) =>
      within(call, seconds, step, closeConnection);
  return {
    connect: after(timeouts.connectSeconds),
    list: after(timeouts.listSeconds),
    request: after(timeouts.stallSeconds),
    end: after(timeouts.endSeconds),
  };
}
