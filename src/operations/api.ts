import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { FileEventDeps } from '../ingest/file-events';
import type { StackResources } from '../local/provision';
import { BATCH_STATUSES, isBatchStatus } from '../ledger/types';
import { OperatorError } from './errors';
import { DEAD_LETTER_QUEUES, isDeadLetterQueue, redriveStage } from './redrive';
import { replayBatch } from './replay';
import { PartnerIngestError } from '../errors/base';

export interface OperatorApiDeps {
  readonly ingest: FileEventDeps;
  readonly resources: Pick<StackResources, 'workQueueUrl' | 'workDlqUrl' | 'fileEventsQueueUrl' | 'fileEventsDlqUrl'>;
  readonly remainingMs: () => number;
}

const DEFAULT_WINDOW_MS = 7 * 86_400_000;

class BadRequest extends PartnerIngestError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The IAM principal API Gateway authenticated (SigV4); recorded as the actor. */
function actorOf(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn ?? identity?.caller ?? 'unknown';
}

function isoParam(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new BadRequest(`${name} "${value}" is not an ISO-8601 time`);
  return parsed.toISOString();
}

function body(event: APIGatewayProxyEvent): Record<string, unknown> {
  if (!event.body) return {};
  try {
    const parsed = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new BadRequest('the request body must be a JSON object');
}

/**
 * The operator HTTP API (IAM-authorized in API Gateway): the CLI's batches,
 * batch, replay and redrive over HTTP. Every error is a JSON body with a
 * stable code, a message and a hint; nothing changes on a 4xx.
 */
export async function handleOperatorRequest(event: APIGatewayProxyEvent, deps: OperatorApiDeps): Promise<APIGatewayProxyResult> {
  const { ledger } = deps.ingest;
  const route = `${event.httpMethod} ${event.resource}`;
  try {
    switch (route) {
      case 'GET /batches': {
        const query = event.queryStringParameters ?? {};
        const status = query.status?.toUpperCase();
        if (status && !isBatchStatus(status)) throw new BadRequest(`status "${query.status}" is not one of ${BATCH_STATUSES.join(', ')}`);
        const now = new Date();
        const from = isoParam(query.since, 'since', new Date(now.getTime() - DEFAULT_WINDOW_MS).toISOString());
        const to = isoParam(query.until, 'until', now.toISOString());
        if (from > to) throw new BadRequest(`since (${from}) is after until (${to})`);
        const limit = query.limit === undefined ? 50 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequest(`limit must be 1–1000, got "${query.limit}"`);
        const batches = await ledger.listBatches({
          from,
          to,
          limit,
          ...(status ? { status } : {}),
          ...(query.partner ? { partner: query.partner } : {}),
          ...(query.feed ? { feed: query.feed } : {}),
        });
        return json(200, { batches });
      }
      case 'GET /batches/{batchId}': {
        const batchId = event.pathParameters!.batchId!;
        const batch = await ledger.get(batchId);
        if (!batch) throw new OperatorError('UNKNOWN_BATCH', `no batch ${batchId} in this stage`, 'list batches with GET /batches');
        const [attempts, audit] = await Promise.all([ledger.attempts(batchId), ledger.auditTrail(batchId)]);
        return json(200, { batch, attempts, audit });
      }
      case 'POST /batches/{batchId}/replay': {
        const request = body(event);
        const result = await replayBatch(
          {
            batchId: event.pathParameters!.batchId!,
            force: request.force === true,
            dryRun: request.dryRun === true,
            fromScratch: request.fromScratch === true,
            actor: actorOf(event),
          },
          deps.ingest,
          { owner: `api-${randomUUID()}`, remainingMs: deps.remainingMs },
        );
        return json(200, result);
      }
      case 'POST /redrive': {
        const request = body(event);
        const queue = (request.queue as string | undefined) ?? 'all';
        if (!isDeadLetterQueue(queue)) throw new BadRequest(`queue must be ${DEAD_LETTER_QUEUES.join(', ')}, got "${queue}"`);
        const results = await redriveStage({
          sqs: deps.ingest.sqs,
          ledger,
          resources: deps.resources,
          queue,
          ...(typeof request.batchId === 'string' ? { batchId: request.batchId } : {}),
          actor: actorOf(event),
        });
        return json(200, { results });
      }
      default:
        return json(404, { code: 'NO_ROUTE', message: `no route ${route}` });
    }
  } catch (error) {
    if (error instanceof BadRequest) return json(400, { code: error.code, message: error.message });
    if (error instanceof OperatorError) {
      const status = error.code === 'UNKNOWN_BATCH' ? 404 : 409;
      return json(status, { code: error.code, message: error.message, hint: error.hint });
    }
    throw error;
  }
}
