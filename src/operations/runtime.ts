import { awsClients } from '../platform/aws-clients';
import { loadPartnerRegistry } from '../config/load-partners';
import { requiredEnv } from '../platform/env';
import { operatorDeps, type OperatorDeps } from './deps';

let cached: OperatorDeps | undefined;

/** The operator functions' dependencies (operator API, replay), from the environment serverless.yml sets; once per cold start. */
export function operatorRuntime(): OperatorDeps {
  cached ??= operatorDeps(
    awsClients(),
    {
      ledgerTable: requiredEnv('LEDGER_TABLE'),
      workQueueUrl: requiredEnv('WORK_QUEUE_URL'),
      workDlqUrl: requiredEnv('WORK_DLQ_URL'),
      fileEventsQueueUrl: requiredEnv('FILE_EVENTS_QUEUE_URL'),
      fileEventsDlqUrl: requiredEnv('FILE_EVENTS_DLQ_URL'),
      sendRangesQueueUrl: requiredEnv('SEND_RANGES_QUEUE_URL'),
      sendRangesDlqUrl: requiredEnv('SEND_RANGES_DLQ_URL'),
    },
    loadPartnerRegistry(),
  );
  return cached;
}
