/**
 * The landing bucket's layout: the one definition of every key the service
 * reads or writes. A byte of a partner's file lands under inbound/ (or pulled/),
 * is archived under archive/, staged under staging/ once valid, and reported
 * under rejects/ when not.
 */

/**
 * Where partner files land in the landing bucket, by how they came. Partners
 * upload into `inbound/<partner>/` themselves; sftp-pull writes what it fetched
 * from their SFTP servers into `pulled/<partner>/`, which only its role may
 * write (partners' roles are scoped to their own inbound/ prefix). So the key
 * alone says, with IAM's guarantee, whether a file came over SFTP: object
 * metadata, which any uploader can set, never does. Files partners push to our
 * SFTP endpoint are handed to `pushed/<partner>/` once complete, by the push
 * hand-off alone (see PUSH_UPLOADS_PREFIX).
 */
export const LANDING_PREFIXES = { s3: 'inbound/', sftp: 'pulled/', 'sftp-push': 'pushed/' } as const;
export type LandingVia = keyof typeof LANDING_PREFIXES;

export interface LandingKey {
  readonly via: LandingVia;
  readonly partner: string;
  /** The file name (under inbound/ it may hold further slashes). */
  readonly fileName: string;
}

/**
 * Where the SFTP push endpoint writes a partner's uploads as they arrive:
 * `pushed-uploads/<partner>/`, the partner's whole view of the server (its
 * logical `/`). Not a landing prefix: the bucket does not notify it, so an
 * upload cut off mid-transfer, which leaves a partial object here, is never
 * ingested. Only an upload the endpoint reports complete is handed on, copied
 * to `pushed/<partner>/<handoffId>/<file>` (pushedKeyOf); a failed one is moved
 * to `quarantine/<partner>/…`. Keep in step with scripts/serverless-sftp-push.js.
 */
export const PUSH_UPLOADS_PREFIX = 'pushed-uploads/';
/**
 * The push hand-off's records of what it handed off (src/sftp-push/handoff-marker.ts):
 * one small object per upload, so the sweep can tell an upload whose event never
 * came from one handed off long ago. Written by the hand-off's role only; not notified.
 */
export const PUSH_HANDOFFS_PREFIX = 'push-handoffs/';
/** Where a failed (partial) push upload is kept for inspection; never ingested. */
export const PUSH_QUARANTINE_PREFIX = 'quarantine/';

/** The folder a pulled or pushed file lands in: the 32 hex digits of its fetch or hand-off id. */
const FETCH_FOLDER = /^[0-9a-f]{32}\//;

/**
 * `inbound/<partner>/<file>`, `pulled/<partner>/<fetchId>/<file>` or
 * `pushed/<partner>/<handoffId>/<file>`; undefined for any other key. A pulled
 * key without the fetch id folder, as sftp-pull wrote them before it had one,
 * still parses: an SFTP file name never holds a slash.
 */
export function parseLandingKey(key: string): LandingKey | undefined {
  for (const via of Object.keys(LANDING_PREFIXES) as LandingVia[]) {
    const prefix = LANDING_PREFIXES[via];
    if (!key.startsWith(prefix)) continue;
    const match = /^([^/]+)\/(.+)$/.exec(key.slice(prefix.length));
    if (!match) return undefined;
    const fileName = via === 's3' ? match[2]! : match[2]!.replace(FETCH_FOLDER, '');
    return fileName ? { via, partner: match[1]!, fileName } : undefined;
  }
  return undefined;
}

/** Where a partner's own upload lands: `inbound/<partner>/<file>`. */
export function inboundKeyOf(partner: string, fileName: string): string {
  return `${LANDING_PREFIXES.s3}${partner}/${fileName}`;
}

/**
 * Where sftp-pull lands one version of a remote file: `pulled/<partner>/<fetchId>/<file>`,
 * the fetch id naming the version (partner, path, size, mtime; src/sftp/fetch-id.ts).
 * Fetching the same version twice (its hand-off was not recorded: a throttled
 * ledger, a killed invocation) writes the same key, which the conditional write
 * refuses, so it stays one object version: one batch. A changed file is a new
 * version, hence a new key.
 */
export function pulledKeyOf(partner: string, fetchId: string, fileName: string): string {
  return `${LANDING_PREFIXES.sftp}${partner}/${fetchId}/${fileName}`;
}

/**
 * Where the push hand-off lands one completed upload:
 * `pushed/<partner>/<handoffId>/<file>`, the id naming that upload (server,
 * session, path, ETag), so a redelivered completion event names the same key
 * and the hand-off can tell it is done. `file` is the upload's final name (a
 * `.filepart` suffix dropped), a plain name without slashes.
 */
export function pushedKeyOf(partner: string, handoffId: string, fileName: string): string {
  return `${LANDING_PREFIXES['sftp-push']}${partner}/${handoffId}/${fileName}`;
}

/** Safe as one S3 key segment: partner segments and file names come from outside. */
function keySegment(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';
}

/** S3 object keys take at most 1,024 bytes of UTF-8. */
export const S3_MAX_KEY_BYTES = 1024;
/** What stays of the end of a file name cut for its archive key: the extension, e.g. `.csv.gz`. */
const KEPT_NAME_TAIL = 16;

export interface ArchiveKey {
  readonly key: string;
  /** How long the key would be with the whole file name; over S3_MAX_KEY_BYTES, `key` holds a shortened name. */
  readonly fullKeyBytes: number;
  /** The longest file name segment this batch's archive key can hold. */
  readonly maxNameBytes: number;
}

/**
 * Where a batch's raw file is kept: `archive/<partner>/<day>/<batchId>/<file name>`.
 * The archive key is 44 bytes longer than the inbound one, so a name that fits
 * S3's 1,024 bytes there may not here: then the name is cut (its start and its
 * last characters, the extension, kept; the batch id folder keeps the key
 * unique), so the file is still archived, and the batch is REJECTED.
 */
export function archiveKeyOf(partner: string, receivedAt: string, batchId: string, fileName: string): ArchiveKey {
  const folder = `archive/${keySegment(partner)}/${receivedAt.slice(0, 10)}/${batchId}/`;
  // Segments are ASCII (keySegment): characters are bytes.
  const name = keySegment(fileName);
  const maxNameBytes = S3_MAX_KEY_BYTES - folder.length;
  const kept = name.length <= maxNameBytes ? name : `${name.slice(0, maxNameBytes - KEPT_NAME_TAIL - 1)}~${name.slice(-KEPT_NAME_TAIL)}`;
  return { key: `${folder}${kept}`, fullKeyBytes: folder.length + name.length, maxNameBytes };
}

/** Where one attempt of a batch stages its valid rows, manifest, segments and key set. */
export function stagingPrefixOf(partner: string, batchId: string, attempt: number): string {
  return `staging/${partner}/${batchId}/attempt-${attempt}/`;
}

/** The staging manifest of a staged batch. */
export function manifestKeyOf(prefix: string): string {
  return `${prefix}manifest.json`;
}

/** The rows object of validation segment `segment`: `rows.csv`, then `rows.<n>.csv`. */
export function rowsKeyOf(prefix: string, segment: number): string {
  return `${prefix}rows${segment ? `.${segment}` : ''}.csv`;
}

/** The chunk list a paused validation segment staged. */
export function segmentKeyOf(prefix: string, segment: number): string {
  return `${prefix}segment.${segment}.json`;
}

/** The duplicate-key set a paused validation segment leaves for the next one. */
export function keySetKeyOf(prefix: string, segment: number): string {
  return `${prefix}keys${segment ? `.${segment}` : ''}.bin`;
}

/** The partner's rejects report of one attempt (`rejects.<n>.csv` for validation segment n > 0). */
export function rejectsKeyOf(partner: string, batchId: string, attempt: number, segment = 0): string {
  return `rejects/${partner}/${batchId}/attempt-${attempt}/rejects${segment ? `.${segment}` : ''}.csv`;
}

/**
 * The plaintext rejects report of a feed whose report is encrypted
 * (`reports.encryptTo`), built segment by segment under staging/, which only
 * the service reads; the partner gets `sealedRejectsKeyOf`.
 */
export function plainRejectsKeyOf(prefix: string, segment: number): string {
  return `${prefix}rejects${segment ? `.${segment}` : ''}.csv`;
}

/** The partner's rejects report of one attempt, encrypted to the partner's key. */
export function sealedRejectsKeyOf(partner: string, batchId: string, attempt: number): string {
  return `${rejectsKeyOf(partner, batchId, attempt)}.pgp`;
}
