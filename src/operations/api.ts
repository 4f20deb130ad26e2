import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { systemClock } from '../platform/clock';
import { BATCH_STATUSES, isBatchStatus } from '../ledger/types';
import { expectationsOverview } from '../expectations/overview';
import type { OperatorDeps } from './deps';
import { BadRequestError, OperatorError } from './errors';
import { parseRedriveRequest, redriveStage } from './redrive';
import { parseReplayRequest, replayBatch } from './replay';

export interface OperatorApiDeps {
  readonly operator: OperatorDeps;
  /** The invocation's remaining time: a redrive and a dry run stop short of it and say how far they got. */
  readonly remainingMs: () => number;
}

const DEFAULT_WINDOW_MS = 7 * 86_400_000;
/** Long operations stop this long before the invocation's end, to answer before API Gateway's 29 s run out. */
const ANSWER_MARGIN_MS = 5_000;

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The IAM principal API Gateway authenticated (SigV4); recorded as the actor. Never taken from the request body. */
function actorOf(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn ?? identity?.caller ?? 'unknown';
}

function isoParam(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new BadRequestError(`${name} "${value}" is not an ISO-8601 time`);
  return parsed.toISOString();
}

function body(event: APIGatewayProxyEvent): unknown {
  if (!event.body) return {};
  try {
    return JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) as unknown;
  } catch {
    throw new BadRequestError('the request body must be a JSON object');
  }
}

/**
 * The operator HTTP API (IAM-authorized in API Gateway): the CLI's batches,
 * batch, replay and redrive over HTTP. A replay is queued for ingestFile and
 * answered at once (202); a redrive and a dry run stop short of the API's 29 s
 * and say so. Every error is a JSON body with a stable code, a message and a
 * hint naming the API's own fields; nothing changes on a 4xx.
 */
export async function handleOperatorRequest(event: APIGatewayProxyEvent, deps: OperatorApiDeps): Promise<APIGatewayProxyResult> {
  const { ledger } = deps.operator;
  const route = `${event.httpMethod} ${event.resource}`;
  try {
    switch (route) {
      case 'GET /batches': {
        const query = event.queryStringParameters ?? {};
        const status = query.status?.toUpperCase();
        if (status && !isBatchStatus(status)) throw new BadRequestError(`status "${query.status}" is not one of ${BATCH_STATUSES.join(', ')}`);
        const now = (deps.operator.clock ?? systemClock)();
        const from = isoParam(query.since, 'since', new Date(now.getTime() - DEFAULT_WINDOW_MS).toISOString());
        const to = isoParam(query.until, 'until', now.toISOString());
        if (from > to) throw new BadRequestError(`since (${from}) is after until (${to})`);
        const limit = query.limit === undefined ? 50 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequestError(`limit must be 1–1000, got "${query.limit}"`);
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
        const request = parseReplayRequest(body(event), event.pathParameters!.batchId!);
        const result = await replayBatch({ ...request, actor: actorOf(event) }, deps.operator, {
          remainingMs: () => deps.remainingMs() - ANSWER_MARGIN_MS,
          optionStyle: 'json',
        });
        return json(result.dryRun ? 200 : 202, result);
      }
      case 'POST /redrive': {
        const request = parseRedriveRequest(body(event));
        const results = await redriveStage({
          ...request,
          sqs: deps.operator.sqs,
          ledger,
          resources: deps.operator.resources,
          actor: actorOf(event),
          deadline: (deps.operator.clock ?? systemClock)().getTime() + deps.remainingMs() - ANSWER_MARGIN_MS,
          ...(deps.operator.clock ? { clock: deps.operator.clock } : {}),
        });
        return json(200, { results });
      }
      case 'GET /expectations': {
        const partner = event.queryStringParameters?.partner;
        if (partner !== undefined && !deps.operator.registry.partners.has(partner)) throw new BadRequestError(`partner "${partner}" is not configured`);
        const clock = deps.operator.clock ?? systemClock;
        const expectations = await expectationsOverview({ registry: deps.operator.registry, ledger, clock }, partner ? { partner } : {});
        return json(200, { at: clock().toISOString(), expectations });
      }
      default:
        return json(404, { code: 'NO_ROUTE', message: `no route ${route}` });
    }
  } catch (error) {
    if (error instanceof BadRequestError) return json(400, { code: error.code, message: error.message });
    if (error instanceof OperatorError) {
      const status = error.code === 'UNKNOWN_BATCH' ? 404 : 409;
      return json(status, { code: error.code, message: error.message, hint: error.hint });
    }
    throw error;
  }
}
