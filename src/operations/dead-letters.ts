import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { systemClock, type Clock } from '../platform/clock';
import type { StackResources } from '../platform/stage-resources';
import { batchOfMessage, showAgain } from './redrive';

/** One batch's dead letters in one DLQ. */
export interface DeadLetterBatch {
  /** The batch id, or 'unknown' for messages that name none. */
  readonly batchId: string;
  readonly messages: number;
  /** When the oldest of them was first sent (to the source queue: SQS keeps SentTimestamp across a dead-lettering). */
  readonly oldestSentAt: string;
}

export interface DeadLetterQueueView {
  readonly queue: 'work' | 'file-events' | 'send-ranges';
  /** SQS's own count (ApproximateNumberOfMessages), which includes messages another reader holds. */
  readonly depth: number;
  /** The messages seen, grouped by batch, most first. */
  readonly batches: readonly DeadLetterBatch[];
  readonly oldestSentAt: string | null;
  /** False when the deadline or the receive budget ended the look before the DLQ showed nothing new. */
  readonly complete: boolean;
}

export interface PeekRequest {
  readonly sqs: SQSClient;
  readonly resources: Pick<StackResources, 'workDlqUrl' | 'fileEventsDlqUrl' | 'sendRangesDlqUrl'>;
  /** When to stop receiving (epoch ms). */
  readonly deadline: number;
  /** The most ReceiveMessage calls per DLQ (10 messages each). */
  readonly maxReceives?: number;
  readonly clock?: Clock;
}

const DEFAULT_MAX_RECEIVES = 100;
/** Long polling: an empty answer means nothing is left to see, not a sampled miss. */
const WAIT_SECONDS = 1;
/** Seen messages stay hidden this long past the deadline at most; they are shown again as soon as the look ends. */
const HIDE_PAST_DEADLINE_SECONDS = 10;

/**
 * What each dead-letter queue holds, per batch, with the age of its oldest
 * message — for viewing: nothing is moved, deleted or recorded in the ledger
 * (a redrive dry run, which operators ask for, is audited; a page view is not).
 * SQS has no peek, so messages are received and made visible again at once when
 * the look ends (also when it fails); meanwhile they are hidden, which only
 * the DLQs can afford: their messages have no consumer and no redrive policy,
 * so the extra receive counts nothing. Source queues are never looked at this way.
 */
export async function peekDeadLetters(request: PeekRequest): Promise<DeadLetterQueueView[]> {
  const queues = [
    ['work', request.resources.workDlqUrl],
    ['file-events', request.resources.fileEventsDlqUrl],
    ['send-ranges', request.resources.sendRangesDlqUrl],
  ] as const;
  return Promise.all(queues.map(([queue, url]) => peekQueue(request, queue, url)));
}

async function peekQueue(request: PeekRequest, queue: DeadLetterQueueView['queue'], queueUrl: string): Promise<DeadLetterQueueView> {
  const { sqs } = request;
  const now = () => (request.clock ?? systemClock)().getTime();
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  const depth = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const seen: Message[] = [];
  let complete = depth === 0;
  try {
    for (let receives = 0; !complete && receives < (request.maxReceives ?? DEFAULT_MAX_RECEIVES) && now() < request.deadline; receives++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: WAIT_SECONDS,
          VisibilityTimeout: Math.ceil(Math.max(0, request.deadline - now()) / 1000) + HIDE_PAST_DEADLINE_SECONDS,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      seen.push(...Messages);
      complete = Messages.length === 0;
    }
  } finally {
    await showAgain(sqs, queueUrl, seen);
  }
  const groups = new Map<string, { messages: number; oldest: number }>();
  for (const message of seen) {
    const batchId = batchOfMessage(message) ?? 'unknown';
    const sentAt = Number(message.Attributes?.SentTimestamp ?? now());
    const group = groups.get(batchId) ?? { messages: 0, oldest: sentAt };
    groups.set(batchId, { messages: group.messages + 1, oldest: Math.min(group.oldest, sentAt) });
  }
  const batches = [...groups]
    .map(([batchId, group]) => ({ batchId, messages: group.messages, oldestSentAt: new Date(group.oldest).toISOString() }))
    .sort((a, b) => b.messages - a.messages || a.oldestSentAt.localeCompare(b.oldestSentAt));
  const oldest = batches.reduce<string | null>((min, batch) => (min === null || batch.oldestSentAt < min ? batch.oldestSentAt : min), null);
  return { queue, depth, batches, oldestSentAt: oldest, complete };
}
