import type { EventPublisher } from '../completion/publisher';
import { emit, type ServiceMetrics } from '../platform/telemetry';
import { systemClock } from '../platform/clock';
import { mapConcurrently } from '../platform/concurrency';
import { HostKeyMismatchError } from './errors';
import { pullPartner, type PartnerPullResult, type PullDeps, type PullRun } from './pull-partner';

export const HOST_KEY_MISMATCH_DETAIL_TYPE = 'SFTP Host Key Mismatch';

/** sftp-pull starts no transfer with less than this left; the next scheduled run picks up what is left. */
export const SFTP_PULL_STOP_MARGIN_MS = 120_000;

export interface PullAllDeps extends PullDeps {
  readonly publisher: Pick<EventPublisher, 'publishAlert'>;
  /** Partners pulled at once; each also bounds its own transfers. */
  readonly partnerConcurrency?: number;
  readonly metrics: ServiceMetrics;
}

export type PartnerOutcome =
  | ({ readonly outcome: 'pulled' } & PartnerPullResult)
  | { readonly outcome: 'failed'; readonly partner: string; readonly code: string; readonly error: string };


/**
 * sftp-pull's core: pulls every partner with an SFTP source (or the ones
 * named), a few at a time. One partner's failure is reported and never stops
 * the others; a host key mismatch is reported loudly — log, metric and an
 * EventBridge event operators can alert on.
 *
 * Every partner's run also counts `SftpPullFailed` (dimension `partner`): 1
 * when it could not hand off what it should have — the pull failed as a whole
 * (login, DNS, refused, timed out, host key) or a transfer failed — and 0
 * when it could.
 * The partner's alarm watches it and, as it treats missing data as missing,
 * stays in alarm until a run succeeds: a feed never stops silently, and an
 * idle schedule never flaps.
 */
export async function pullAll(deps: PullAllDeps, run: PullRun, only?: readonly string[]): Promise<PartnerOutcome[]> {
  const count = (name: string, partner: string, value = 1) => emit(deps.metrics, name, value, { partner });
  const partners = [...deps.registry.partners.values()].filter(
    (partner) => partner.sources.sftp && (!only || only.includes(partner.id)),
  );
  // Each partner's failure is caught and reported as its outcome: one partner never stops the others.
  return mapConcurrently(partners, deps.partnerConcurrency ?? 4, async (partner) => {
    const outcome = await pullOne(partner);
    // For operators (the console): losing this note must not fail the pull, which has done its work.
    await deps.files
      .recordPull(partner.id, outcome.outcome === 'pulled' ? { ok: true } : { ok: false, code: outcome.code, message: outcome.error, hostKeyMismatch: outcome.code === 'SFTP_HOST_KEY_MISMATCH' })
      .catch((error: unknown) => deps.logger.warn('could not record the pull status', { partner: partner.id, error: error as Error }));
    return outcome;
  });

  async function pullOne(partner: (typeof partners)[number]): Promise<PartnerOutcome> {
    try {
      const result = await pullPartner(partner, deps, run);
      count('SftpPullFailed', partner.id, result.failed.length ? 1 : 0);
      count('SftpFilesFetched', partner.id, result.fetched.length);
      if (result.skipped.length) count('SftpUnsafeNamesSkipped', partner.id, result.skipped.length);
      return { outcome: 'pulled', ...result };
    } catch (error) {
      const failure = error as Error & { code?: string };
      count('SftpPullFailed', partner.id);
      if (error instanceof HostKeyMismatchError) {
        deps.logger.error('SFTP host key mismatch: connection refused', {
          partner: partner.id,
          presented: error.presented,
          pinned: error.pinned,
        });
        count('SftpHostKeyMismatch', partner.id);
        emit(deps.metrics, 'SftpHostKeyMismatch', 1, {}); // the alarm's metric: any partner

        const source = partner.sources.sftp!;
        await deps.publisher
          .publishAlert(HOST_KEY_MISMATCH_DETAIL_TYPE, {
            partner: partner.id,
            host: source.host,
            port: source.port,
            presentedFingerprint: error.presented,
            pinnedFingerprints: error.pinned,
            at: (deps.clock ?? systemClock)().toISOString(),
          })
          .catch((alertError: unknown) => deps.logger.error('could not publish the host key alert', { error: alertError as Error }));
      } else {
        deps.logger.error('SFTP pull failed for partner', { partner: partner.id, error: failure });
      }
      return { outcome: 'failed', partner: partner.id, code: failure.code ?? failure.name, error: failure.message };
    }
  }
}
