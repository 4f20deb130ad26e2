import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { stringify } from 'yaml';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import type { SshdServer } from '../../dev/sshd';
import type { LocalStack } from '../../dev/local-stack';
import { PROJECT_ROOT } from './stack';

export interface SftpPartnerSpec {
  readonly id: string;
  readonly port: number;
  readonly hostKeys: readonly string[];
  readonly remoteDir: string;
  readonly postFetch?: Record<string, string>;
  readonly minAgeSeconds?: number;
  readonly stallSeconds?: number;
}

/**
 * A config root (partners/ + schemas/) whose SFTP partners point at the test's
 * sshd: the shipped globex feed with host, port, pinned key and folders of this run.
 */
export function sftpConfigRoot(specs: readonly SftpPartnerSpec[]): { root: string; registry: () => PartnerRegistry; dispose(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'partner-ingest-sftp-config-'));
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  mkdirSync(path.join(root, 'partners'));
  const globexFeed = {
    id: 'shipments',
    files: ['shipments_*.csv.gz'],
    format: { type: 'csv', delimiter: ';', quote: '"', header: true, encoding: 'latin1', compression: 'gzip' },
    schema: { id: 'shipments', version: 1 },
    key: 'shipment_id',
    errorPolicy: { maxInvalidRatio: 0.05 },
  };
  for (const spec of specs) {
    const partner = {
      id: spec.id,
      name: `${spec.id} (test)`,
      sources: {
        sftp: {
          host: '127.0.0.1',
          port: spec.port,
          username: process.env.USER ?? 'root',
          hostKeys: spec.hostKeys,
          credentials: { secretRef: `partner-ingest/${spec.id}/sftp` },
          remoteDir: spec.remoteDir,
          minAgeSeconds: spec.minAgeSeconds ?? 0,
          postFetch: spec.postFetch ?? { action: 'move', to: `${spec.remoteDir}/processed` },
          timeouts: { connectSeconds: 5, listSeconds: 5, stallSeconds: spec.stallSeconds ?? 5, endSeconds: 2 },
        },
      },
      feeds: [globexFeed],
    };
    writeFileSync(path.join(root, 'partners', `${spec.id}.yml`), stringify(partner));
  }
  return { root, registry: () => loadPartnerRegistry({ root }), dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** Stores the partner's login in (emulated) Secrets Manager, as an operator would. */
export async function storeLogin(stack: LocalStack, partner: string, sshd: SshdServer): Promise<void> {
  await stack.clients.secrets.send(
    new CreateSecretCommand({ Name: `partner-ingest/${partner}/sftp`, SecretString: JSON.stringify({ privateKey: sshd.privateKey }) }),
  );
}
