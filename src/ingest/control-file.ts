import path from 'node:path/posix';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PartnerRegistry } from '../config/load-partners';
import type { ControlFileSettings, FeedConfig } from '../config/types';
import { parseControlFile, type ControlFileRead } from '../validate/control-file-parse';

export type { ControlFileRead } from '../validate/control-file-parse';

/** A control file is a line or two: anything much bigger is not one, and is not read whole. */
const MAX_CONTROL_FILE_BYTES = 64 * 1024;

/** The control file's name for data file `fileName` (its last path segment): `{name}.ctl` → `orders_1.csv.ctl`. */
export function controlFileNameOf(settings: ControlFileSettings, fileName: string): string {
  return settings.name.replace('{name}', path.basename(fileName));
}

/** Where the control file of the data file at `key` is: beside it. */
export function controlFileKeyOf(settings: ControlFileSettings, key: string): string {
  const folder = path.dirname(key);
  return `${folder === '.' ? '' : `${folder}/`}${controlFileNameOf(settings, key)}`;
}

/**
 * The feed whose control file `fileName` is, if any: its name is the feed's
 * `controlFile.name` around a name the feed's patterns own. Such a file is no
 * batch of its own (it would be UNKNOWN_FEED, or worse, a data file): its data
 * file's batch reads it.
 */
export function controlFileFeed(registry: PartnerRegistry, partnerId: string, fileName: string): FeedConfig | undefined {
  const partner = registry.partners.get(partnerId);
  if (!partner) return undefined;
  const base = path.basename(fileName);
  const folder = fileName.slice(0, fileName.length - base.length);
  return partner.feeds.find((feed) => {
    if (!feed.controlFile) return false;
    const [prefix = '', suffix = ''] = feed.controlFile.name.split('{name}');
    if (base.length <= prefix.length + suffix.length || !base.startsWith(prefix) || !base.endsWith(suffix)) return false;
    const dataName = `${folder}${base.slice(prefix.length, base.length - suffix.length)}`;
    return registry.feedForFile(partner, dataName) === feed;
  });
}

/**
 * Reads the control file of the data file at `bucket`/`key`: its values, the
 * news that it is not there (yet), or why it cannot be used (a file-level
 * rejection, CONTROL_RECORD_INVALID). Any other failure is thrown: a fault.
 */
export async function readControlFile(s3: S3Client, bucket: string, key: string, feed: FeedConfig): Promise<ControlFileRead> {
  const settings = feed.controlFile!;
  const controlKey = controlFileKeyOf(settings, key);
  const name = path.basename(controlKey);
  let text: string;
  try {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: controlKey, Range: `bytes=0-${MAX_CONTROL_FILE_BYTES - 1}` }));
    text = Buffer.from(await Body!.transformToByteArray()).toString(feed.format.encoding === 'utf-8' ? 'utf8' : 'latin1');
  } catch (error) {
    const { name: errorName, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (errorName === 'NoSuchKey' || errorName === 'NotFound' || $metadata?.httpStatusCode === 404) return { missing: true };
    throw error;
  }
  return parseControlFile(text, feed, name);
}

