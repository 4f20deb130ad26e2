import { createReadStream } from 'node:fs';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { validateFile } from '../src/validate/validate-file';
import { DEFAULT_CHUNK_LIMITS, type StagingManifest } from '../src/work-items/staging-writer';
import { MemoryStagingSink } from '../test/unit/work-items/staged-fixture';
import { generateOrders, type GeneratedFile } from './generate-orders';

export interface StagedOrders {
  readonly file: GeneratedFile;
  readonly manifest: StagingManifest;
  /** The staged rows of every chunk, as the staging object would hold them. */
  readonly data: Buffer;
  readonly seconds: number;
}

/**
 * An acme orders file of `rows` valid rows (generated or reused), through the
 * real validation pass into in-memory staging chunked like StagingWriter: what
 * the send benchmarks send.
 */
export async function stagedOrders(rows: number, batchId: string): Promise<StagedOrders> {
  const file = await generateOrders({ rows, invalidRate: 0 });
  const feed = loadPartnerRegistry().partners.get('acme')!.feeds.find((candidate) => candidate.id === 'orders')!;
  const staging = new MemoryStagingSink(feed, batchId, DEFAULT_CHUNK_LIMITS);
  const started = performance.now();
  const outcome = await validateFile({
    source: createReadStream(file.path, { highWaterMark: 256 * 1024 }),
    feed,
    batchId,
    items: staging,
    rejects: new CollectingRejectSink(100),
  });
  if (outcome.counts.valid !== rows) throw new Error(`expected ${rows} valid records, got ${outcome.counts.valid}`);
  return { file, ...staging.close(), seconds: (performance.now() - started) / 1000 };
}
