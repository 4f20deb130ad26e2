import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import { loadPartnerRegistry, type PartnerRegistry } from '../src/config/load-partners';
import type { PartnerConfig } from '../src/config/types';
import { pullAll, type PartnerOutcome } from '../src/sftp/pull-all';
import { sftpPullDeps } from '../src/sftp/runtime';
import type { LocalStack } from './local-stack';
import { createMetrics } from '../src/platform/telemetry';
import { startSshd, type SshdServer } from './sshd';

/**
 * What a local SFTP partner changes in its partner's SFTP source: this sshd's
 * address, login and pinned host key, its folder, and no minimum age (a demo
 * does not wait two minutes). Used in memory and written into partner files.
 */
function localSftpSettings(sshd: SshdServer, remoteDir: string) {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    hostKeys: [sshd.hostKeyFingerprint],
    remoteDir,
    minAgeSeconds: 0,
    postFetch: { action: 'move' as const, to: `${remoteDir}/processed` },
  };
}

/** The registry with one SFTP partner pointed at a local sshd: same feeds and rules, the local settings above. */
export function withLocalSftpPartner(registry: PartnerRegistry, partnerId: string, sshd: SshdServer, remoteDir: string): PartnerRegistry {
  const partner = registry.partners.get(partnerId);
  if (!partner?.sources.sftp) throw new Error(`partner ${partnerId} has no SFTP source`);
  const local: PartnerConfig = {
    ...partner,
    sources: {
      ...partner.sources,
      sftp: { ...partner.sources.sftp, ...localSftpSettings(sshd, remoteDir) },
    },
  };
  return { ...registry, partners: new Map([...registry.partners, [partnerId, local]]) };
}

/**
 * A config root (partners/ and schemas/, what PARTNER_INGEST_CONFIG_ROOT names)
 * for functions run outside this process, i.e. by serverless-offline: `root`'s
 * partner files with the same local settings (localSftpSettings) for one
 * partner, schemas/ linked. Validated like any config root before it is used.
 */
export async function writeLocalConfigRoot(root: string, partnerId: string, sshd: SshdServer, remoteDir: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'partner-ingest-config-'));
  try {
    mkdirSync(path.join(dir, 'partners'));
    for (const name of readdirSync(path.join(root, 'partners'))) {
      let text = readFileSync(path.join(root, 'partners', name), 'utf8');
      if (name === `${partnerId}.yml` || name === `${partnerId}.yaml`) {
        const document = parseDocument(text);
        for (const [key, value] of Object.entries(localSftpSettings(sshd, remoteDir))) document.setIn(['sources', 'sftp', key], value);
        text = document.toString();
      }
      writeFileSync(path.join(dir, 'partners', name), text);
    }
    symlinkSync(path.join(root, 'schemas'), path.join(dir, 'schemas'), 'dir');
    loadPartnerRegistry({ root: dir }); // fails here, naming the file, rather than in the function
    return dir;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface LocalSftpPartner {
  readonly sshd: SshdServer;
  /** The folder the partner publishes files into. */
  readonly outbound: string;
  /** The registry with the partner pointed at this sshd. */
  readonly registry: PartnerRegistry;
  /**
   * The same settings as a config root (PARTNER_INGEST_CONFIG_ROOT) for the real
   * functions under serverless-offline: see writeLocalConfigRoot.
   */
  readonly configRoot: string;
  /** One scheduled sftp-pull run for the partner (deployed, the partner's schedule triggers it). */
  pull(): Promise<PartnerOutcome | undefined>;
  /** Stops sshd and removes its folders and the config root. */
  dispose(): Promise<void>;
}

/**
 * Starts sshd as a partner's SFTP server beside a local stack: its own folder,
 * its login stored in (emulated) Secrets Manager, the registry pointed at it.
 */
export async function startLocalSftpPartner(stack: LocalStack, partnerId: string, logger: Logger): Promise<LocalSftpPartner> {
  const sshd = await startSshd();
  try {
    const outbound = path.join(sshd.rootDir, partnerId, 'outbound');
    mkdirSync(outbound, { recursive: true });
    const registry = withLocalSftpPartner(stack.registry, partnerId, sshd, outbound);
    const secretRef = registry.partners.get(partnerId)!.sources.sftp!.credentials.secretRef;
    await stack.clients.secrets.send(new CreateSecretCommand({ Name: secretRef, SecretString: JSON.stringify({ privateKey: sshd.privateKey }) }));
    const deps = sftpPullDeps(stack.clients, registry, stack.resources, logger, createMetrics());
    const configRoot = await writeLocalConfigRoot(stack.configRoot, partnerId, sshd, outbound);
    let runs = 0;
    return {
      sshd,
      outbound,
      registry,
      configRoot,
      async dispose() {
        await sshd.dispose();
        await rm(configRoot, { recursive: true, force: true });
      },
      async pull() {
        const id = `local-${++runs}`;
        const [outcome] = await pullAll(deps, { runId: id, owner: id, remainingMs: () => 600_000, stopMarginMs: 60_000 }, [partnerId]);
        return outcome;
      },
    };
  } catch (error) {
    await sshd.dispose();
    throw error;
  }
}
