import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { batchesBySize, sqsMessageBytes } from '../platform/sqs-limits';
import { workOf } from '../ingest/file-event-messages';
import { batchIdOf } from '../ledger/batch-id';
import type { Ledger } from '../ledger/batches';
import type { StackResources } from '../platform/stage-resources';
import { BadRequestError } from './errors';
import { requestObject } from './requests';
import { systemClock, type Clock } from '../platform/clock';

/** Which messages a redrive takes: exactly one batch's, or all of them — never "all" by omission. */
export type RedriveFilter = { readonly batchId: string } | { readonly all: true };

export interface RedriveRequest {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly targetUrl: string;
  readonly filter: RedriveFilter;
  /** Count what would move, per batch, and move nothing. */
  readonly dryRun?: boolean;
  /** When to stop receiving (epoch ms), whatever is left: a redrive always ends. */
  readonly deadline: number;
  /** The most ReceiveMessage calls it makes (10 messages each). */
  readonly maxReceives?: number;
  readonly onProgress?: (moved: number, kept: number) => void;
  readonly clock?: Clock;
}

export interface RedriveResult {
  /** Messages sent back to the source queue (with dryRun: that would be). */
  readonly moved: number;
  /** Messages of other batches, left in the DLQ (visible again at once). */
  readonly kept: number;
  /** False when the deadline or the receive budget stopped it before the DLQ was empty of what it looked for. */
  readonly complete: boolean;
  /** Dry run: messages per batch id ('unknown' for a message that names none). */
  readonly batches?: Readonly<Record<string, number>>;
}

/** The batch a dead-lettered message belongs to: a work item's envelope, a range or resume message, or the object of a file event. */
export function batchOfMessage(message: Message): string | undefined {
  const attribute = message.MessageAttributes?.batchId?.StringValue;
  if (attribute) return attribute;
  try {
    const body = JSON.parse(message.Body ?? '') as { batchId?: unknown };
    if (typeof body.batchId === 'string') return body.batchId;
    const [work] = workOf(message.Body ?? '');
    return work?.kind === 'resume' ? work.batchId : work ? batchIdOf(work.object) : undefined;
  } catch {
    return undefined;
  }
}

/** Receives wait this long for messages (long polling: an empty answer means the queue is empty, not unlucky). */
const WAIT_SECONDS = 1;
const DEFAULT_MAX_RECEIVES = 1000;
/** Received messages stay hidden this long past the deadline, so none is seen twice in one run. */
const HIDE_PAST_DEADLINE_SECONDS = 30;

/**
 * Moves messages from a dead-letter queue back to its source queue: each is
 * sent to the target first and deleted from the DLQ only after SQS accepted it,
 * so an interruption can duplicate a message (consumers drop it by item id) but
 * never lose one. Sends are cut by count and bytes (ten packed work items can
 * be 2.5 MiB). Messages of other batches, and every message of a dry run, are
 * made visible again as soon as the run ends — also when it fails. It ends when
 * a long poll finds the DLQ empty of anything not yet seen, at the deadline, or
 * after its receive budget.
 */
export async function redrive(request: RedriveRequest): Promise<RedriveResult> {
  const { sqs } = request;
  const now = () => (request.clock ?? systemClock)().getTime();
  let moved = 0;
  const kept: Message[] = [];
  const counted: Record<string, number> = {};
  let complete = false;
  try {
    for (let receives = 0; receives < (request.maxReceives ?? DEFAULT_MAX_RECEIVES); receives++) {
      const hideSeconds = Math.ceil(Math.max(0, request.deadline - now()) / 1000) + HIDE_PAST_DEADLINE_SECONDS;
      if (now() >= request.deadline) break;
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: request.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: WAIT_SECONDS,
          VisibilityTimeout: hideSeconds,
          MessageAttributeNames: ['All'],
        }),
      );
      if (!Messages.length) {
        complete = true;
        break;
      }
      const selected = Messages.filter((message) => 'all' in request.filter || batchOfMessage(message) === request.filter.batchId);
      kept.push(...Messages.filter((message) => !selected.includes(message)));
      if (request.dryRun) {
        for (const message of selected) {
          const batch = batchOfMessage(message) ?? 'unknown';
          counted[batch] = (counted[batch] ?? 0) + 1;
        }
        kept.push(...selected);
        moved += selected.length;
      } else {
        for (const batch of batchesBySize(selected, (message) => sqsMessageBytes(message.Body ?? '', message.MessageAttributes))) {
          moved += await moveBatch(sqs, request, batch);
        }
      }
      request.onProgress?.(moved, kept.length - (request.dryRun ? moved : 0));
    }
  } finally {
    await showAgain(sqs, request.dlqUrl, kept);
  }
  return { moved, kept: kept.length - (request.dryRun ? moved : 0), complete, ...(request.dryRun ? { batches: counted } : {}) };
}

/** Sends `batch` to the target; only what the target accepted leaves the DLQ (the rest reappears there). */
async function moveBatch(sqs: SQSClient, request: RedriveRequest, batch: readonly Message[]): Promise<number> {
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: request.targetUrl,
      Entries: batch.map((message, index) => ({
        Id: String(index),
        MessageBody: message.Body!,
        ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
      })),
    }),
  );
  const accepted = (sent.Successful ?? []).map((entry) => batch[Number(entry.Id)]!);
  if (accepted.length) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: request.dlqUrl,
        Entries: accepted.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return accepted.length;
}

/** Makes received messages visible again at once, instead of after their visibility timeout. */
export async function showAgain(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(start, start + 10).map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}

export const DEAD_LETTER_QUEUES = ['work', 'file-events', 'send-ranges', 'all'] as const;
export type DeadLetterQueue = (typeof DEAD_LETTER_QUEUES)[number];

export function isDeadLetterQueue(value: string): value is DeadLetterQueue {
  return (DEAD_LETTER_QUEUES as readonly string[]).includes(value);
}

const BATCH_ID = /^[0-9a-f]{32}$/;

export interface StageRedrive {
  readonly queue: DeadLetterQueue;
  readonly filter: RedriveFilter;
  readonly dryRun: boolean;
}

/**
 * A redrive request (the API's body; the CLI builds the same): a queue, and
 * exactly one of a valid `batchId` or `"all": true`. A missing, empty,
 * malformed or misspelled filter is refused, so nothing moves by accident.
 */
export function parseRedriveRequest(input: unknown): StageRedrive {
  const body = requestObject(input, ['queue', 'batchId', 'all', 'dryRun']);
  const queue = body.queue ?? 'all';
  if (typeof queue !== 'string' || !isDeadLetterQueue(queue)) throw new BadRequestError(`queue must be one of ${DEAD_LETTER_QUEUES.join(', ')}, got ${JSON.stringify(queue)}`);
  if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') throw new BadRequestError(`dryRun must be true or false, got ${JSON.stringify(body.dryRun)}`);
  return { queue, filter: redriveFilter(body.batchId, body.all, { batchId: 'batchId', all: '"all": true' }), dryRun: body.dryRun === true };
}

/** Exactly one of a batch id or all; `names` says how the caller spells the two (API fields or CLI flags). */
export function redriveFilter(batchId: unknown, all: unknown, names: { batchId: string; all: string }): RedriveFilter {
  if (all !== undefined && all !== true) throw new BadRequestError(`${names.all} is the only value "all" takes, got ${JSON.stringify(all)}`);
  if (batchId !== undefined && all === true) throw new BadRequestError(`give ${names.batchId} or ${names.all}, not both`);
  if (all === true) return { all: true };
  if (batchId === undefined) throw new BadRequestError(`say which dead letters to move: ${names.batchId} (one batch's) or ${names.all}`);
  if (typeof batchId !== 'string' || !BATCH_ID.test(batchId)) throw new BadRequestError(`${names.batchId} must be a batch id (32 hex digits), got ${JSON.stringify(batchId)}`);
  return { batchId };
}

export interface StageRedriveRequest extends StageRedrive {
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  readonly resources: Pick<StackResources, 'workQueueUrl' | 'workDlqUrl' | 'fileEventsQueueUrl' | 'fileEventsDlqUrl' | 'sendRangesQueueUrl' | 'sendRangesDlqUrl'>;
  /** Who asked, for the audit trail. */
  readonly actor: string;
  readonly deadline: number;
  readonly onProgress?: (queue: string, moved: number, kept: number) => void;
  readonly clock?: Clock;
}

export type StageRedriveResult = RedriveResult & { readonly queue: string };

/**
 * An operator's redrive of a stage (CLI or HTTP API): each chosen DLQ back to
 * its source queue. The audit trail records the request before anything moves
 * and the outcome after — also when it fails partway — so every redrive leaves
 * a record of who asked for what.
 */
export async function redriveStage(request: StageRedriveRequest): Promise<StageRedriveResult[]> {
  const { resources, queue, filter } = request;
  const pairs = [
    { queue: 'work', dlqUrl: resources.workDlqUrl, targetUrl: resources.workQueueUrl },
    { queue: 'file-events', dlqUrl: resources.fileEventsDlqUrl, targetUrl: resources.fileEventsQueueUrl },
    { queue: 'send-ranges', dlqUrl: resources.sendRangesDlqUrl, targetUrl: resources.sendRangesQueueUrl },
  ].filter((pair) => queue === 'all' || queue === pair.queue);
  const batchId = 'batchId' in filter ? filter.batchId : undefined;
  const audit = (outcome: string, details: Record<string, unknown>) =>
    request.ledger.audit({
      at: (request.clock ?? systemClock)().toISOString(),
      actor: request.actor,
      action: `redrive --queue ${queue} ${batchId ? `--batch ${batchId}` : '--all'}${request.dryRun ? ' --dry-run' : ''}`,
      ...(batchId ? { batchId } : {}),
      details,
      outcome,
    });
  await audit('requested', {});
  const results: StageRedriveResult[] = [];
  try {
    for (const pair of pairs) {
      const result = await redrive({
        sqs: request.sqs,
        dlqUrl: pair.dlqUrl,
        targetUrl: pair.targetUrl,
        filter,
        dryRun: request.dryRun,
        deadline: request.deadline,
        onProgress: (moved, kept) => request.onProgress?.(pair.queue, moved, kept),
        ...(request.clock ? { clock: request.clock } : {}),
      });
      results.push({ queue: pair.queue, ...result });
    }
  } catch (error) {
    await audit(`failed after moving ${results.reduce((sum, result) => sum + result.moved, 0)}: ${(error as Error).message}`, { results });
    throw error;
  }
  const moved = results.reduce((sum, result) => sum + result.moved, 0);
  const incomplete = results.some((result) => !result.complete);
  await audit(`${request.dryRun ? 'would move' : 'moved'} ${moved}${incomplete ? ' (stopped before the end: run it again)' : ''}`, { results });
  return results;
}
