import { createHash } from 'node:crypto';
import { PUSH_HANDOFFS_PREFIX } from '../landing/layout';

/**
 * The marker of one handed-off upload: `push-handoffs/<partner>/<id>`, the id
 * hashed from the key and ETag of the object the hand-off copied. The upload
 * stays in pushed-uploads/ after its hand-off (for the client's closing rename),
 * so the sweep needs this to tell it from an upload whose event never came; both
 * come from a listing (key, ETag), so the sweep reads no object.
 */
export function markerKeyOf(partner: string, key: string, etag: string): string {
  return `${PUSH_HANDOFFS_PREFIX}${partner}/${digest(`${key}\n${bareEtag(etag)}`)}`;
}

/**
 * The marker of an upload handed off from its temporary name (`x.filepart`)
 * before the client's closing rename: `push-handoffs/<partner>/renamed/<id>`,
 * the id hashed from the final key and the size. The renamed object is a copy
 * (S3 has no rename), whose ETag may differ, so it is matched by name and size,
 * and by time: the rename follows the upload within moments (RENAME_WINDOW_MS).
 */
export function renameMarkerKeyOf(partner: string, finalKey: string, bytes: number): string {
  return `${renamedPrefixOf(partner)}${digest(`${finalKey}\n${bytes}`)}`;
}

/** How long after the hand-off of `x.filepart` its rename to `x` is still taken as that upload's. */
export const RENAME_WINDOW_MS = 5 * 60_000;

export const markersPrefixOf = (partner: string) => `${PUSH_HANDOFFS_PREFIX}${partner}/`;
export const renamedPrefixOf = (partner: string) => `${markersPrefixOf(partner)}renamed/`;

/** The metadata a marker carries: where the upload was handed to. */
export const MARKER_TARGET_METADATA = 'partner-ingest-handoff-target';

export const bareEtag = (etag: string) => etag.replace(/"/g, '');

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
