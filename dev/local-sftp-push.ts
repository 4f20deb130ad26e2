/**
 * The local stack's SFTP push endpoints: one per push partner
 * (dev/sftp-push-endpoint.ts), each upload handed off by the same code as the
 * deployed sftpPushHandoff (src/sftp-push/handoff.ts) against the stack's S3,
 * so a completed upload lands in pushed/ and is ingested there by whatever
 * ingests the stack's files (serverless-offline under npm start).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../src/config/load-partners';
import type { PartnerConfig } from '../src/config/types';
import { handOffUpload } from '../src/sftp-push/handoff';
import { sftpPushHandoffDeps } from '../src/sftp-push/runtime';
import type { ServiceMetrics } from '../src/platform/telemetry';
import type { LocalStack } from './local-stack';
import type { Dispatched } from './push-upload-dispatch';
import { startPushEndpoint, type PushEndpoint } from './sftp-push-endpoint';

/** The partners whose config has `sources.sftpPush`, and then `alsoPushing` (each must be a partner). */
export function pushPartnerIds(registry: PartnerRegistry, alsoPushing: readonly string[] = []): string[] {
  for (const id of alsoPushing) {
    if (!registry.partners.has(id)) throw new Error(`--push ${id}: no partner ${id} in partners/`);
  }
  const configured = [...registry.partners.values()].filter((partner) => partner.sources.sftpPush).map((partner) => partner.id);
  return [...new Set([...configured, ...alsoPushing])];
}

/** The registry with partner `id` pushing over SFTP with `publicKeys`, in memory only (no partner file changes). */
export function withPushingPartner(registry: PartnerRegistry, id: string, publicKeys: readonly string[]): PartnerRegistry {
  const partner = registry.partners.get(id);
  if (!partner) throw new Error(`no partner ${id}`);
  const pushing: PartnerConfig = { ...partner, sources: { ...partner.sources, sftpPush: { ...partner.sources.sftpPush, publicKeys: [...publicKeys] } } };
  return { ...registry, partners: new Map([...registry.partners, [id, pushing]]) };
}

export interface LocalPushPartners {
  readonly endpoints: readonly PushEndpoint[];
  dispose(): Promise<void>;
}

/**
 * The partners that push: those whose config has `sources.sftpPush`, plus
 * `alsoPushing` (shipped partners made to push on this machine only, with the
 * generated key; their partner files are not changed).
 */
export async function startLocalPushPartners(
  stack: LocalStack,
  options: {
    readonly alsoPushing?: readonly string[];
    readonly logger: Logger;
    readonly metrics: ServiceMetrics;
    readonly onDispatched?: (partner: string, dispatched: Dispatched) => void;
  },
): Promise<LocalPushPartners> {
  const ids = pushPartnerIds(stack.registry, options.alsoPushing);
  const endpoints: PushEndpoint[] = [];
  // The hand-off asks the registry whether the user pushes: the partners made to push here are added to it, in memory.
  let registry: PartnerRegistry = stack.registry;
  const dispose = async () => {
    for (const endpoint of endpoints.reverse()) await endpoint.dispose();
  };
  try {
    for (const id of ids) {
      const endpoint = await startPushEndpoint({
        partner: id,
        publicKeys: stack.registry.partners.get(id)!.sources.sftpPush?.publicKeys ?? [],
        s3: stack.clients.s3,
        bucket: stack.resources.landingBucket,
        // Locally the server id is the endpoint's address, so the batch's sftp:// URI names it.
        handOff: (event) =>
          handOffUpload(event, sftpPushHandoffDeps(stack.clients, registry, { landingBucket: stack.resources.landingBucket, hostOf: (serverId) => serverId }, options.logger, options.metrics)),
        ...(options.onDispatched ? { onDispatched: (dispatched: Dispatched) => options.onDispatched!(id, dispatched) } : {}),
      });
      endpoints.push(endpoint);
      if (!registry.partners.get(id)!.sources.sftpPush) {
        registry = withPushingPartner(registry, id, [readFileSync(`${endpoint.privateKeyFile}.pub`, 'utf8').trim()]);
      }
    }
    return { endpoints, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
