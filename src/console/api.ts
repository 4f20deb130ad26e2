import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { completionEventOf } from '../completion/completion-event';
import type { ObjectLocation } from '../landing/objects';
import type { BatchState } from '../ledger/types';
import { systemClock } from '../platform/clock';
import { parseBatchQuery } from '../operations/batch-query';
import { batchView } from '../operations/batch-view';
import { BadRequestError, OperatorError } from '../operations/errors';
import { peekDeadLetters } from '../operations/dead-letters';
import { parseRedriveRequest, redriveStage } from '../operations/redrive';
import { parseReplayRequest, replayBatch } from '../operations/replay';
import { consoleOverview } from './overview';
import type { ConsoleApiDeps } from './types';

export type { ConsoleApiDeps } from './types';

export interface ApiRequest {
  readonly method: string;
  /** The path below /api, e.g. /batches/<id>. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export type ApiAnswer = { readonly status: number; readonly body: unknown } | { readonly status: 303; readonly location: string };

/** A download link is good this long: long enough to start it, short enough that a copied link soon opens nothing. */
export const DOWNLOAD_EXPIRY_SECONDS = 300;
/** A redrive or dry run from the console stops receiving after this long (the page waits for it). */
const REDRIVE_MS = 60_000;
/** Looking at the DLQs for the Dead letters page stops after this long (a view should not keep the page waiting). */
const PEEK_MS = 10_000;
const BATCH_ID = /^[0-9a-f]{32}$/;
const FINISHED: ReadonlySet<string> = new Set(['COMPLETED', 'REJECTED', 'FAILED']);

/** A page of a listing continues before the last row shown; rows with that very timestamp already shown are skipped. */
interface Cursor {
  readonly before: string;
  readonly seen: readonly string[];
}

function decodeCursor(text: string | null): Cursor | undefined {
  if (!text) return undefined;
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof cursor.before === 'string' && Array.isArray(cursor.seen) && cursor.seen.every((id) => typeof id === 'string')) return cursor;
  } catch {
    // refused below
  }
  throw new BadRequestError('cursor is not one this console gave');
}

function encodeCursor(rows: readonly BatchState[]): string {
  const before = rows.at(-1)!.receivedAt;
  const seen = rows.filter((row) => row.receivedAt === before).map((row) => row.batchId);
  return Buffer.from(JSON.stringify({ before, seen })).toString('base64url');
}

function paramsOf(query: URLSearchParams): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of query) if (value !== '') params[name] = value;
  return params;
}

async function listBatches(deps: ConsoleApiDeps, query: URLSearchParams) {
  const params = paramsOf(query);
  const cursor = decodeCursor(query.get('cursor'));
  const parsed = parseBatchQuery({ ...params, ...(cursor ? { until: cursor.before } : {}) }, (deps.operator.clock ?? systemClock)());
  // One row more than the page tells whether there is a next page.
  const rows = await deps.operator.ledger.listBatches({ ...parsed, limit: parsed.limit + (cursor?.seen.length ?? 0) + 1 });
  const fresh = rows.filter((row) => !cursor?.seen.includes(row.batchId));
  const page = fresh.slice(0, parsed.limit);
  return { batches: page, next: fresh.length > parsed.limit ? encodeCursor(page) : null, from: parsed.from, to: parsed.to };
}

function batchIdOf(text: string | undefined): string {
  if (!text || !BATCH_ID.test(text)) throw new BadRequestError(`batchId must be a batch id (32 hex digits), got ${JSON.stringify(text ?? null)}`);
  return text;
}

const FILES = {
  raw: (state: BatchState) => state.archive,
  rejects: (state: BatchState) => state.validation?.rejects,
} satisfies Record<string, (state: BatchState) => ObjectLocation | undefined>;

/** A short-lived presigned GET of one of a batch's files, signed with the operator's own credentials. */
async function fileLink(deps: ConsoleApiDeps, batchId: string, file: string): Promise<string> {
  const pick = FILES[file as keyof typeof FILES];
  if (!pick) throw new BadRequestError(`file must be one of ${Object.keys(FILES).join(', ')}, got ${JSON.stringify(file)}`);
  const state = await deps.operator.ledger.get(batchId);
  if (!state) throw new OperatorError('UNKNOWN_BATCH', `no batch ${batchId} in this stage`, 'find it on the Batches page');
  const location = pick(state);
  if (!location) throw new OperatorError('RAW_FILE_MISSING', `batch ${batchId} has no ${file} file`, 'nothing to download');
  const name = location.key.split('/').at(-1)!;
  return getSignedUrl(
    deps.operator.s3,
    new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ResponseContentDisposition: `attachment; filename="${name.replace(/["\\]/g, '_')}"` }),
    { expiresIn: DOWNLOAD_EXPIRY_SECONDS },
  );
}

/** The route a path names, with its :id and :file segments as `parts` (batches/<id>/files/<file>). */
function routeOf(method: string, path: string): { route: string; parts: string[] } {
  const parts = path.split('/').filter(Boolean);
  const names = parts.map((part, index) => (parts[0] === 'batches' && index === 1 ? ':id' : parts[2] === 'files' && index === 3 ? ':file' : part));
  return { route: `${method} /${names.join('/')}`, parts };
}

/**
 * The console's JSON API over the operations core the CLI and the operator
 * HTTP API use: listings, one batch, downloads, replays and redrives, each
 * action recorded with the operator's own identity. Errors are the core's
 * typed errors with their stable codes.
 */
export async function handleApi(request: ApiRequest, deps: ConsoleApiDeps): Promise<ApiAnswer> {
  const { route, parts } = routeOf(request.method, request.path);
  try {
    switch (route) {
      case 'GET /overview':
        return { status: 200, body: await consoleOverview(deps) };
      case 'GET /dead-letters': {
        // A view: counts per batch, nothing moved and nothing audited (a dry run is POST /redrive).
        const now = (deps.operator.clock ?? systemClock)();
        const queues = await peekDeadLetters({ sqs: deps.operator.sqs, resources: deps.operator.resources, deadline: now.getTime() + PEEK_MS, ...(deps.operator.clock ? { clock: deps.operator.clock } : {}) });
        return { status: 200, body: { at: now.toISOString(), queues } };
      }
      case 'GET /batches':
        return { status: 200, body: await listBatches(deps, request.query) };
      case 'GET /batches/:id': {
        const view = await batchView(deps.operator, batchIdOf(parts[1]), 'find it on the Batches page');
        // The event the latest attempt announced (or will announce), as consumers receive it.
        const completionEvent = FINISHED.has(view.batch.status) ? completionEventOf(view.batch) : null;
        return { status: 200, body: { ...view, completionEvent } };
      }
      case 'GET /batches/:id/files/:file':
        return { status: 303, location: await fileLink(deps, batchIdOf(parts[1]), parts[3]!) };
      case 'POST /batches/:id/replay': {
        const parsed = parseReplayRequest(request.body, batchIdOf(parts[1]));
        const result = await replayBatch({ ...parsed, actor: deps.actor }, deps.operator, { remainingMs: () => Number.POSITIVE_INFINITY, optionStyle: 'console' });
        return { status: result.dryRun ? 200 : 202, body: result };
      }
      case 'POST /redrive': {
        const parsed = parseRedriveRequest(request.body);
        const results = await redriveStage({
          ...parsed,
          sqs: deps.operator.sqs,
          ledger: deps.operator.ledger,
          resources: deps.operator.resources,
          actor: deps.actor,
          deadline: (deps.operator.clock ?? systemClock)().getTime() + REDRIVE_MS,
          ...(deps.operator.clock ? { clock: deps.operator.clock } : {}),
        });
        return { status: 200, body: { results } };
      }
      default:
        return { status: 404, body: { code: 'NO_ROUTE', message: `no route ${request.method} /api${request.path}` } };
    }
  } catch (error) {
    if (error instanceof BadRequestError) return { status: 400, body: { code: error.code, message: error.message } };
    if (error instanceof OperatorError) return { status: error.code === 'UNKNOWN_BATCH' ? 404 : 409, body: { code: error.code, message: error.message, hint: error.hint } };
    throw error;
  }
}
