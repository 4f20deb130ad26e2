import { paginateListObjectsV2, type _Object, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import { PUSH_UPLOADS_PREFIX } from '../landing/layout';
import { emit, type ServiceMetrics } from '../platform/telemetry';
import { markerKeyOf, markersPrefixOf, renamedPrefixOf, renameMarkerKeyOf, RENAME_WINDOW_MS } from './handoff-marker';

/** The metric of uploads with no hand-off after SWEEP_SETTINGS.minAgeMs, per partner; its alarm fires on any. */
export const UNREPORTED_METRIC = 'SftpPushUnreported';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface SweepSettings {
  /**
   * An upload younger than this is left alone: its event may still be on its
   * way, or in Lambda's retries. 30 minutes: events arrive within seconds, and
   * the hand-off's retries are done within minutes (sftp-push-delivery.js).
   */
  readonly minAgeMs: number;
  /**
   * An upload older than this is no longer reported: pushed-uploads/ expires
   * after the `pushedUploadsRetentionDays` stage param, which must exceed it,
   * so an upload is reported for days before it can vanish.
   */
  readonly windowMs: number;
}

export const SWEEP_SETTINGS: SweepSettings = { minAgeMs: 30 * MINUTE, windowMs: 7 * DAY };

export interface PushSweepDeps {
  readonly s3: S3Client;
  readonly landingBucket: string;
  readonly registry: PartnerRegistry;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly now: () => Date;
  readonly settings?: Partial<SweepSettings>;
}

export interface UnreportedUpload {
  readonly partner: string;
  readonly key: string;
  readonly bytes: number;
  readonly lastModified: string;
}

export interface SweepResult {
  /** Per push partner, the uploads without a hand-off. */
  readonly unreported: readonly UnreportedUpload[];
  readonly partners: readonly string[];
}

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<_Object[]> {
  const objects: _Object[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) objects.push(...(page.Contents ?? []));
  return objects;
}

/**
 * Finds the push uploads that were never handed off: an event that never came
 * (Transfer Family's events are best effort), or a hand-off that failed past
 * its retries. Per push partner, two listings: its pushed-uploads/ folder and
 * its hand-off markers (handoff-marker.ts); no object is read. An upload aged
 * between `minAgeMs` and `windowMs` without a marker is logged (one warning
 * each, with the command that hands it off) and counted in SftpPushUnreported.
 *
 * It hands nothing off itself: without its event, a partial upload (a client cut
 * off mid-transfer whose failure event was lost too) looks exactly like a
 * complete one. Someone who can ask the partner decides (README, "Receiving
 * files on our SFTP endpoint").
 */
export async function sweepPushUploads(deps: PushSweepDeps): Promise<SweepResult> {
  const settings = { ...SWEEP_SETTINGS, ...deps.settings };
  const now = deps.now().getTime();
  const partners = [...deps.registry.partners.values()].filter((partner) => partner.sources.sftpPush !== undefined).map((partner) => partner.id);
  const unreported: UnreportedUpload[] = [];
  for (const partner of partners) {
    const [uploads, markers] = await Promise.all([
      listAll(deps.s3, deps.landingBucket, `${PUSH_UPLOADS_PREFIX}${partner}/`),
      listAll(deps.s3, deps.landingBucket, markersPrefixOf(partner)),
    ]);
    const marked = new Set(markers.map((marker) => marker.Key));
    const renamedAt = new Map(markers.filter((marker) => marker.Key?.startsWith(renamedPrefixOf(partner))).map((marker) => [marker.Key, marker.LastModified?.getTime() ?? 0]));
    const handedOff = (upload: _Object) => {
      if (marked.has(markerKeyOf(partner, upload.Key!, upload.ETag ?? ''))) return true;
      // Handed off as x.filepart moments before the client renamed it to x.
      const at = renamedAt.get(renameMarkerKeyOf(partner, upload.Key!, upload.Size ?? 0));
      return at !== undefined && at >= (upload.LastModified?.getTime() ?? 0) - RENAME_WINDOW_MS;
    };
    let count = 0;
    for (const upload of uploads) {
      const age = now - (upload.LastModified?.getTime() ?? now);
      if (age < settings.minAgeMs || age > settings.windowMs || handedOff(upload)) continue;
      count += 1;
      const found: UnreportedUpload = { partner, key: upload.Key!, bytes: upload.Size ?? 0, lastModified: upload.LastModified!.toISOString() };
      unreported.push(found);
      deps.logger.warn('SFTP push upload with no hand-off: its event never came, or its hand-off failed every attempt; not ingested', {
        ...found,
        handOff: `partner-ingest push-handoff --partner ${partner} --key '${upload.Key}' --stage <stage> --server-id <SftpPushServerId>`,
      });
    }
    // Every run, 0 included: the alarm keeps its state through the gaps between runs and clears on a run that finds none.
    emit(deps.metrics, UNREPORTED_METRIC, count, { partner });
  }
  return { unreported, partners };
}
