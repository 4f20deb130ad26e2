import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { batchesBySize, sqsMessageBytes } from '../aws/sqs-limits';
import { createdObjectsOf } from '../ingest/s3-event';
import { batchIdOf } from '../ledger/batch-id';
import type { Ledger } from '../ledger/ledger';
import type { StackResources } from '../local/provision';

export interface RedriveRequest {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly targetUrl: string;
  /** Only messages of this batch; the others stay in the DLQ. */
  readonly batchId?: string;
  /** How long a received message stays hidden while it is being moved. */
  readonly visibilitySeconds?: number;
  readonly onProgress?: (moved: number, kept: number) => void;
}

export interface RedriveResult {
  readonly moved: number;
  readonly kept: number;
}

/** The batch a dead-lettered message belongs to: a work item's envelope, or the object of a file event. */
export function batchOfMessage(message: Message): string | undefined {
  const attribute = message.MessageAttributes?.batchId?.StringValue;
  if (attribute) return attribute;
  try {
    const body = JSON.parse(message.Body ?? '') as { batchId?: unknown };
    if (typeof body.batchId === 'string') return body.batchId;
    const [object] = createdObjectsOf(message.Body ?? '');
    return object ? batchIdOf(object) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves messages from a dead-letter queue back to its source queue, ten at a
 * time: each is sent to the target first and deleted from the DLQ only after
 * SQS accepted it, so an interruption can duplicate a message (consumers drop it
 * by item id) but never lose one. Messages of other batches are made visible
 * again when the run ends.
 */
export async function redrive(request: RedriveRequest): Promise<RedriveResult> {
  const { sqs } = request;
  let moved = 0;
  const kept: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: request.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: request.visibilitySeconds ?? 60,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!Messages.length) break;
    const selected = Messages.filter((message) => !request.batchId || batchOfMessage(message) === request.batchId);
    kept.push(...Messages.filter((message) => !selected.includes(message)));
    // Ten received messages can hold up to 10 MiB; a send takes 1 MiB in all.
    for (const batch of batchesBySize(selected, (message) => sqsMessageBytes(message.Body ?? '', message.MessageAttributes))) {
      moved += await moveBatch(sqs, request, batch);
    }
    request.onProgress?.(moved, kept.length);
  }
  for (let start = 0; start < kept.length; start += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: request.dlqUrl,
        Entries: kept.slice(start, start + 10).map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle!,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
  return { moved, kept: kept.length };
}

/** Sends `batch` to the target; only what the target accepted leaves the DLQ (the rest reappears there after the visibility timeout). */
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

export const DEAD_LETTER_QUEUES = ['work', 'file-events', 'all'] as const;
export type DeadLetterQueue = (typeof DEAD_LETTER_QUEUES)[number];

export function isDeadLetterQueue(value: string): value is DeadLetterQueue {
  return (DEAD_LETTER_QUEUES as readonly string[]).includes(value);
}

export interface StageRedriveRequest {
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  readonly resources: Pick<StackResources, 'workQueueUrl' | 'workDlqUrl' | 'fileEventsQueueUrl' | 'fileEventsDlqUrl'>;
  readonly queue: DeadLetterQueue;
  readonly batchId?: string;
  /** Who asked, for the audit trail. */
  readonly actor: string;
  readonly onProgress?: (queue: string, moved: number, kept: number) => void;
}

/**
 * An operator's redrive of a stage (CLI or HTTP API): each chosen DLQ back to
 * its source queue, then one audit entry with the outcome.
 */
export async function redriveStage(request: StageRedriveRequest): Promise<{ queue: string; moved: number; kept: number }[]> {
  const { resources, queue, batchId } = request;
  const pairs = [
    ...(queue !== 'file-events' ? [{ queue: 'work', dlqUrl: resources.workDlqUrl, targetUrl: resources.workQueueUrl }] : []),
    ...(queue !== 'work' ? [{ queue: 'file-events', dlqUrl: resources.fileEventsDlqUrl, targetUrl: resources.fileEventsQueueUrl }] : []),
  ];
  const results = [];
  for (const pair of pairs) {
    const result = await redrive({
      sqs: request.sqs,
      dlqUrl: pair.dlqUrl,
      targetUrl: pair.targetUrl,
      ...(batchId ? { batchId } : {}),
      onProgress: (moved, kept) => request.onProgress?.(pair.queue, moved, kept),
    });
    results.push({ queue: pair.queue, ...result });
  }
  await request.ledger.audit({
    at: new Date().toISOString(),
    actor: request.actor,
    action: `redrive --queue ${queue}${batchId ? ` --batch ${batchId}` : ''}`,
    ...(batchId ? { batchId } : {}),
    details: { results },
    outcome: `moved ${results.reduce((sum, result) => sum + result.moved, 0)}`,
  });
  return results;
}
