import { createdObjectsOf, type CreatedObject } from '../landing/s3-event';

/**
 * What one message on the file-events queue asks ingestFile to do: ingest the
 * objects an S3 event announces, or carry on a batch already in the ledger — an
 * operator's replay, or a batch whose lease expired with nothing left to resume
 * it. Either way the work runs in ingestFile, with its 15 minutes, its retries
 * and its FAILED after the last delivery.
 */
export type FileEventWork =
  | { readonly kind: 'object'; readonly object: CreatedObject }
  | { readonly kind: 'resume'; readonly batchId: string; readonly attempt: number };

interface ResumeBody {
  readonly resume: { readonly batchId: string; readonly attempt: number };
}

/** The message that carries on `batchId`'s attempt `attempt`. */
export function resumeMessageBody(batchId: string, attempt: number): string {
  return JSON.stringify({ resume: { batchId, attempt } } satisfies ResumeBody);
}

/** The work a message body asks for. Throws on a body that is neither an S3 event nor a resume message. */
export function workOf(body: string): FileEventWork[] {
  const resume = (JSON.parse(body) as Partial<ResumeBody>).resume;
  if (resume && typeof resume.batchId === 'string' && Number.isInteger(resume.attempt)) {
    return [{ kind: 'resume', batchId: resume.batchId, attempt: resume.attempt }];
  }
  return createdObjectsOf(body).map((object) => ({ kind: 'object', object }));
}
