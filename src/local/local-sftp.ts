import type { PartnerRegistry } from '../config/load-partners';
import type { PartnerConfig } from '../config/types';
import type { SshdServer } from './sshd';

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
