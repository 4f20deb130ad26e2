import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchState } from '../ledger/types';

/** Structured JSON logs; each batch logs through a child carrying batchId, partner and feed. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-ingest' });

/** CloudWatch EMF metrics. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'PartnerIngest',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-ingest',
});

/** Emits one batch's outcome, dimensioned by partner and status (alarms key on FAILED and REJECTED). */
export function recordBatchMetrics(state: BatchState): void {
  const single = metrics.singleMetric();
  single.addDimensions({ partner: state.partner, status: state.status });
  single.addMetric('Batches', MetricUnit.Count, 1);
  const counts = state.counts;
  if (!counts) return;
  const volume = metrics.singleMetric();
  volume.addDimensions({ partner: state.partner });
  volume.addMetric('RecordsValid', MetricUnit.Count, counts.valid);
  volume.addMetric('RecordsInvalid', MetricUnit.Count, counts.invalid);
  volume.addMetric('WorkItemsSent', MetricUnit.Count, counts.workItemsSent);
}
