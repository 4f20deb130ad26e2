import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import type { PartnerConfig } from '../config/types';
import { pullAll, type PartnerOutcome } from '../sftp/pull-all';
import { sftpPullDeps } from '../sftp/runtime';
import type { LocalStack } from './local-stack';
import { startSshd, type SshdServer } from './sshd';

/**
 * The registry with one SFTP partner pointed at a local sshd: same feeds and
 * rules, but this server's address, pinned host key and folder, and no minimum
 * age (a demo does not wait two minutes).
 */
export function withLocalSftpPartner(registry: PartnerRegistry, partnerId: string, sshd: SshdServer, remoteDir: string): PartnerRegistry {
  const partner = registry.partners.get(partnerId);
  if (!partner?.sources.sftp) throw new Error(`partner ${partnerId} has no SFTP source`);
  const local: PartnerConfig = {
    ...partner,
    sources: {
      ...partner.sources,
      sftp: {
        ...partner.sources.sftp,
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        hostKeys: [sshd.hostKeyFingerprint],
        remoteDir,
        minAgeSeconds: 0,
        postFetch: { action: 'move', to: `${remoteDir}/processed` },
      },
    },
  };
  return { ...registry, partners: new Map([...registry.partners, [partnerId, local]]) };
}

export interface LocalSftpPartner {
  readonly sshd: SshdServer;
  /** The folder the partner publishes files into. */
  readonly outbound: string;
  /** The registry with the partner pointed at this sshd. */
  readonly registry: PartnerRegistry;
  /** One scheduled sftp-pull run for the partner (deployed, the partner's schedule triggers it). */
  pull(): Promise<PartnerOutcome | undefined>;
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
    const deps = sftpPullDeps(stack.clients, registry, stack.resources, logger);
    let runs = 0;
    return {
      sshd,
      outbound,
      registry,
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
