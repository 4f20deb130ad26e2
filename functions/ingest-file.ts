import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processFileEvents } from '../src/ingest/on-file-event';
import { ingestRuntime } from '../src/ingest/runtime';

/** ingest-file: S3 ObjectCreated → file-events queue → this function (partial batch responses). */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await ingestRuntime();
  try {
    return await processFileEvents(event, context, deps);
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
