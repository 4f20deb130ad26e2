import { ingestRuntime, requiredEnv } from '../ingest/runtime';
import type { OperatorApiDeps } from './api';

/** The operator functions' dependencies: the ingest core plus the dead-letter queues, from the environment. */
export function operatorRuntime(remainingMs: () => number): OperatorApiDeps {
  const ingest = ingestRuntime();
  return {
    ingest,
    remainingMs,
    resources: {
      workQueueUrl: ingest.settings.workQueueUrl,
      workDlqUrl: requiredEnv('WORK_DLQ_URL'),
      fileEventsQueueUrl: requiredEnv('FILE_EVENTS_QUEUE_URL'),
      fileEventsDlqUrl: requiredEnv('FILE_EVENTS_DLQ_URL'),
    },
  };
}
