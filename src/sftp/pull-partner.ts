import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import SftpClient from 'ssh2-sftp-client';
import type { PartnerRegistry } from '../config/load-partners';
import type { PartnerConfig, SftpSource } from '../config/types';
import { pulledKeyOf } from '../landing/layout';
import type { SftpLogin } from './credentials';
import { remoteDeadlines } from './deadlines';
import { HostKeyMismatchError, RemoteFileChangedError } from './errors';
import { fetchIdOf } from './fetch-id';
import { fetchToS3 } from './fetch-to-s3';
import { mapConcurrently } from '../platform/concurrency';
import { systemClock, type Clock } from '../platform/clock';
import { pinnedHostVerifier } from './host-key';
import type { RemoteFileLedger, RemoteVersion } from './remote-file-ledger';
import { unsafeNameReason } from './remote-names';

export interface PullDeps {
  readonly s3: S3Client;
  readonly landingBucket: string;
  readonly files: RemoteFileLedger;
  readonly registry: PartnerRegistry;
  readonly login: (secretRef: string) => Promise<SftpLogin>;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export interface PullRun {
  /** Identifies this run in the listing memory (a file must be seen unchanged by an earlier run). */
  readonly runId: string;
  /** Owner of transfer claims; a crashed run's claims expire after `claimMs`. */
  readonly owner: string;
  readonly remainingMs: () => number;
  /** Stop starting transfers when less time than this is left. */
  readonly stopMarginMs: number;
}

export interface PartnerPullResult {
  readonly partner: string;
  readonly fetched: { readonly name: string; readonly key: string; readonly bytes: number; readonly versionId?: string }[];
  /** Files seen but not yet stable (too young, changed since the previous listing, or while being read). */
  readonly waiting: string[];
  readonly skipped: { readonly name: string; readonly reason: string }[];
  readonly failed: { readonly name: string; readonly error: string }[];
  readonly postFetchFailed: string[];
  /** True when the run stopped starting transfers because time ran low. */
  stoppedEarly: boolean;
}

const CLAIM_GRACE_MS = 60_000;

function joinRemote(dir: string, name: string): string {
  return `${dir === '/' ? '' : dir}/${name}`;
}

/**
 * One partner's pull: connect (host key pinned, checked before authentication),
 * list, pick stable files that belong to a feed, stream each into the landing
 * bucket exactly once, then apply the post-fetch action. Every call to the
 * server has a deadline (src/sftp/deadlines.ts); the connection is always closed.
 */
export async function pullPartner(partner: PartnerConfig, deps: PullDeps, run: PullRun): Promise<PartnerPullResult> {
  const source = partner.sources.sftp!;
  const logger = deps.logger.createChild({ persistentKeys: { partner: partner.id, sftpHost: source.host } });
  const result: PartnerPullResult = { partner: partner.id, fetched: [], waiting: [], skipped: [], failed: [], postFetchFailed: [], stoppedEarly: false };
  // Connection-level events outside an operation go to our logger, not the library's console output.
  const client = new SftpClient(`sftp-pull:${partner.id}`, {
    error: (error: unknown) => logger.debug('SFTP connection error', { error: error as Error }),
    end: () => logger.debug('SFTP connection ended'),
    close: () => logger.debug('SFTP connection closed'),
  });
  const deadline = remoteDeadlines(source.timeouts, () => destroy(client));
  const hostKey = pinnedHostVerifier(source.hostKeys);
  const login = await deps.login(source.credentials.secretRef);
  try {
    try {
      await deadline.connect(
        client.connect({
          host: source.host,
          port: source.port,
          username: source.username,
          ...login,
          hostVerifier: hostKey.verify,
          readyTimeout: source.timeouts.connectSeconds * 1000,
          retries: 0,
        }),
        `connecting to ${source.host}:${source.port}`,
      );
    } catch (error) {
      const presented = hostKey.presented();
      if (presented && !source.hostKeys.includes(presented)) throw new HostKeyMismatchError(partner.id, presented, source.hostKeys);
      throw error;
    }
    // ssh2 leaves Nagle's algorithm on, which stalls pipelined READ requests.
    (client as unknown as { client?: { setNoDelay?(noDelay: boolean): void } }).client?.setNoDelay?.(true);
    const listing = await deadline.list(client.list(source.remoteDir), `listing ${source.remoteDir}`);
    const candidates: RemoteVersion[] = [];
    for (const entry of listing) {
      if (entry.type !== '-') continue;
      const unsafe = unsafeNameReason(entry.name);
      if (unsafe) {
        logger.warn('skipping a remote file with an unsafe name', { name: JSON.stringify(entry.name), reason: unsafe });
        result.skipped.push({ name: entry.name, reason: unsafe });
        continue;
      }
      if (!deps.registry.feedForFile(partner, entry.name)) continue;
      candidates.push({ partner: partner.id, path: joinRemote(source.remoteDir, entry.name), size: entry.size, mtime: entry.modifyTime });
    }
    const sftp = (client as unknown as { sftp: import('ssh2').SFTPWrapper }).sftp;
    await mapConcurrently(candidates, source.maxConcurrentTransfers, async (version) => {
      const name = version.path.slice(version.path.lastIndexOf('/') + 1);
      try {
        await handleVersion(version, name);
      } catch (error) {
        if (error instanceof RemoteFileChangedError) {
          logger.info('the file changed while it was read; discarded, to be fetched once it is stable', { file: name, error });
          result.waiting.push(name);
          return;
        }
        logger.error('transfer failed; it will be retried on the next run', { file: name, error: error as Error });
        result.failed.push({ name, error: (error as Error).message });
      }
    });

    async function handleVersion(version: RemoteVersion, name: string): Promise<void> {
      const record = await deps.files.fetchRecord(version);
      if (record?.status === 'POSTED') return;
      if (record?.status === 'FETCHED') {
        await postFetch(version, name);
        return;
      }
      if (!(await isStable(version, source, run, deps))) {
        result.waiting.push(name);
        return;
      }
      if (run.remainingMs() < run.stopMarginMs) {
        result.stoppedEarly = true;
        return;
      }
      if (!(await deps.files.claim(version, run.owner, source.timeouts.stallSeconds * 1000 + CLAIM_GRACE_MS + run.remainingMs()))) {
        return; // another run has it, or fetched it a moment ago
      }
      try {
        const fetched = await fetchToS3(
          sftp,
          version,
          {
            s3: deps.s3,
            bucket: deps.landingBucket,
            key: pulledKeyOf(partner.id, fetchIdOf(version), name),
            sourceUri: `sftp://${source.host}:${source.port}${version.path}`,
          },
          { deadline: deadline.request },
        );
        await deps.files.markFetched(version, run.owner, {
          bucket: fetched.bucket,
          key: fetched.key,
          ...(fetched.versionId ? { versionId: fetched.versionId } : {}),
          ...(fetched.etag ? { etag: fetched.etag } : {}),
        });
        result.fetched.push({ name, key: fetched.key, bytes: fetched.bytes, ...(fetched.versionId ? { versionId: fetched.versionId } : {}) });
        logger.info(fetched.alreadyLanded ? 'fetched again; an earlier fetch had landed it, nothing new written' : 'fetched', {
          file: name,
          bytes: fetched.bytes,
          key: fetched.key,
        });
      } catch (error) {
        await deps.files.release(version, run.owner);
        throw error;
      }
      await postFetch(version, name);
    }

    /**
     * Move, delete or leave the remote file, unless it is no longer the version
     * fetched: written to since, it is left for its new version to be fetched.
     * A failure is retried next run and never causes a second fetch.
     */
    async function postFetch(version: RemoteVersion, name: string): Promise<void> {
      const action = source.postFetch;
      try {
        if (action.action !== 'leave') {
          const changed = await changedSince(version);
          if (changed) {
            logger.warn('post-fetch action skipped: the remote file is no longer the version fetched', { file: name, action: action.action, changed });
            await deps.files.markPosted(version, changed);
            return;
          }
        }
        if (action.action === 'move') {
          if (!(await deadline.request(client.exists(action.to), `checking ${action.to}`))) {
            await deadline.request(client.mkdir(action.to, true), `creating ${action.to}`);
          }
          await deadline.request(client.posixRename(version.path, joinRemote(action.to, name)), `moving ${version.path}`);
        } else if (action.action === 'delete') {
          await deadline.request(client.delete(version.path), `deleting ${version.path}`);
        }
        await deps.files.markPosted(version);
      } catch (error) {
        logger.warn('post-fetch action failed; retrying on the next run', { file: name, action: action.action, error: error as Error });
        result.postFetchFailed.push(name);
        await deps.files.notePostFetchError(version, (error as Error).message).catch(() => undefined);
      }
    }

    /** How the remote file differs from the fetched version now; undefined while it is that version. */
    async function changedSince(version: RemoteVersion): Promise<string | undefined> {
      try {
        const now = await deadline.request(client.stat(version.path), `checking ${version.path}`);
        if (now.size === version.size && now.modifyTime === version.mtime) return undefined;
        return `changed since its fetch: ${now.size} bytes, mtime ${new Date(now.modifyTime).toISOString()}`;
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return 'gone since its fetch';
        throw error;
      }
    }
  } finally {
    await deadline.end(client.end(), 'closing the connection').catch(() => destroy(client));
  }
  return result;
}

/** Closes the underlying SSH connection at once (a step timed out). */
function destroy(client: SftpClient): void {
  (client as unknown as { client?: { destroy(): void } }).client?.destroy();
}

/**
 * A file qualifies when its mtime is older than the partner's minimum age and
 * a previous run listed it with the same size and mtime. Otherwise this
 * listing is remembered and the file waits for the next run.
 */
async function isStable(version: RemoteVersion, source: SftpSource, run: PullRun, deps: PullDeps): Promise<boolean> {
  const previous = await deps.files.listing(version.partner, version.path);
  const unchanged = previous !== undefined && previous.size === version.size && previous.mtime === version.mtime;
  if (!unchanged) {
    await deps.files.rememberListing(version, run.runId);
    return false;
  }
  if (previous.runId === run.runId) return false;
  const now = (deps.clock ?? systemClock)().getTime();
  return now - version.mtime >= source.minAgeSeconds * 1000;
}
