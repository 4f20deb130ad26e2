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

export function emit(name: string, value: number, dimensions: Record<string, string>): void {
  // A single metric flushes on its first addMetric, taking its dimensions with it.
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, MetricUnit.Count, value);
}

/**
 * Emits one batch's outcome, by status alone (what the FAILED and REJECTED
 * alarms watch) and by partner and status (for dashboards).
 */
export function recordBatchMetrics(state: BatchState): void {
  emit('Batches', 1, { status: state.status });
  emit('Batches', 1, { partner: state.partner, status: state.status });
  if (!state.counts) return;
  emit('RecordsValid', state.counts.valid, { partner: state.partner });
  emit('RecordsInvalid', state.counts.invalid, { partner: state.partner });
  emit('WorkItemsSent', state.counts.workItemsSent, { partner: state.partner });
}
