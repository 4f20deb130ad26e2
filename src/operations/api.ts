import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { systemClock } from '../platform/clock';
import { parseBatchQuery } from './batch-query';
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
        const now = (deps.operator.clock ?? systemClock)();
        const batches = await ledger.listBatches(parseBatchQuery(event.queryStringParameters ?? {}, now));
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
