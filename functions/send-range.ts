import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ingestRuntime } from '../src/ingest/runtime';
import { processSendRanges } from '../src/ingest/on-send-range';

/** send-range: one range of a big batch's staged work items per message, sent in parallel with the others. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await ingestRuntime();
  try {
    return await processSendRanges(event, context, deps);
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
