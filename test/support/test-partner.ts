import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import { PROJECT_ROOT } from './stack';

/** A config root made for one test file: the shipped schemas and one partner, initech, an S3-drop partner with `feed`. */
export interface TestPartnerRoot {
  readonly root: string;
  readonly registry: PartnerRegistry;
}

/**
 * Writes initech with the one `feed` into a fresh config root before the
 * file's tests and removes it after; the returned object is filled in beforeAll.
 * A feed given as a function is built then, after the hooks declared before
 * this call (keys a gpg peer makes, say).
 */
export function useInitechFeed(feed: Record<string, unknown> | (() => Record<string, unknown>)): TestPartnerRoot {
  const current = { root: '', registry: undefined as unknown as PartnerRegistry };
  beforeAll(() => {
    current.root = mkdtempSync(path.join(tmpdir(), 'partner-ingest-initech-config-'));
    cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(current.root, 'schemas'), { recursive: true });
    mkdirSync(path.join(current.root, 'partners'));
    const partner = { id: 'initech', name: 'Initech (test)', sources: { s3: {} }, feeds: [typeof feed === 'function' ? feed() : feed] };
    writeFileSync(path.join(current.root, 'partners', 'initech.yml'), stringify(partner));
    current.registry = loadPartnerRegistry({ root: current.root });
  });
  afterAll(() => {
    if (current.root) rmSync(current.root, { recursive: true, force: true });
  });
  return current;
}
