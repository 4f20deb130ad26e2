import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { expectationsOverview } from '../expectations/overview';
import { systemClock } from '../platform/clock';
import type { ConsoleApiDeps } from './types';
import { alarmsInAlarm, oldestMessageAges, orUnavailable } from './health';

const OVERVIEW_WINDOW_MS = 86_400_000;

const QUEUES = [
  ['work', 'workQueueUrl', 'workDlqUrl'],
  ['file-events', 'fileEventsQueueUrl', 'fileEventsDlqUrl'],
  ['send-ranges', 'sendRangesQueueUrl', 'sendRangesDlqUrl'],
] as const;

async function depth(deps: ConsoleApiDeps, queueUrl: string) {
  const { Attributes = {} } = await deps.operator.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

/**
 * The overview page's data: the last 24 hours by status and partner, what
 * needs attention, every queue's and DLQ's depth (with CloudWatch's age of the
 * oldest message), the stage's alarms in ALARM, SFTP pulls, and each feed's
 * expectation through the same core as the CLI's `expectations` and the API's
 * GET /expectations. Reads only.
 */
export async function consoleOverview(deps: ConsoleApiDeps) {
  const now = (deps.operator.clock ?? systemClock)();
  const from = new Date(now.getTime() - OVERVIEW_WINDOW_MS).toISOString();
  const batches = await deps.operator.ledger.listBatches({ from, to: now.toISOString(), limit: 10_000 });
  const byStatus: Record<string, number> = {};
  const byPartner: Record<string, Record<string, number>> = {};
  for (const batch of batches) {
    byStatus[batch.status] = (byStatus[batch.status] ?? 0) + 1;
    const partner = (byPartner[batch.partner] ??= {});
    partner[batch.status] = (partner[batch.status] ?? 0) + 1;
  }
  const failed = batches.filter((batch) => batch.status === 'FAILED' || batch.status === 'REJECTED').slice(0, 20);
  const nameOf = (url: string) => url.split('/').at(-1)!;
  const sftpPartners = [...deps.operator.registry.partners.values()].filter((partner) => partner.sources.sftp).map((partner) => partner.id);
  const [ages, alarms, sftp, expectations] = await Promise.all([
    oldestMessageAges(deps.cloudWatch, QUEUES.flatMap(([, queue, dlq]) => [nameOf(deps.operator.resources[queue]), nameOf(deps.operator.resources[dlq])]), now),
    alarmsInAlarm(deps.cloudWatch, deps.stage),
    Promise.all(sftpPartners.map(async (partner) => ({ partner, status: (await deps.pulls.pullStatus(partner)) ?? null }))),
    // A failure here (e.g. the ledger's index unreadable) is said in its section; the rest still shows.
    orUnavailable(() => expectationsOverview({ registry: deps.operator.registry, ledger: deps.operator.ledger, clock: () => now })),
  ]);
  const ageOf = (url: string) => ('value' in ages ? (ages.value[nameOf(url)] ?? null) : null);
  const queues = await Promise.all(
    QUEUES.map(async ([name, queue, dlq]) => ({
      queue: name,
      messages: { ...(await depth(deps, deps.operator.resources[queue])), oldestAgeSeconds: ageOf(deps.operator.resources[queue]) },
      deadLetters: { ...(await depth(deps, deps.operator.resources[dlq])), oldestAgeSeconds: ageOf(deps.operator.resources[dlq]) },
    })),
  );
  return {
    from,
    to: now.toISOString(),
    total: batches.length,
    byStatus,
    byPartner,
    needsAttention: failed,
    queues,
    ...('unavailable' in ages ? { queueAgesUnavailable: ages.unavailable } : {}),
    alarms,
    sftp,
    expectations,
  };
}
