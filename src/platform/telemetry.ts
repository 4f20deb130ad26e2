import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchState } from '../ledger/types';

/** Structured JSON logs; each batch logs through a child carrying batchId, partner and feed. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-ingest' });

/** What the cores count with: CloudWatch EMF metrics, injected like the clients (flushed by the handler). */
export type ServiceMetrics = Pick<Metrics, 'singleMetric' | 'publishStoredMetrics'>;

/** One function's metrics, named by the environment serverless.yml sets. */
export function createMetrics(): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'PartnerIngest',
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-ingest',
  });
}

export function emit(metrics: ServiceMetrics, name: string, value: number, dimensions: Record<string, string>): void {
  // A single metric flushes on its first addMetric, taking its dimensions with it.
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, MetricUnit.Count, value);
}

/**
 * Emits one batch's outcome, by status alone (what the FAILED and REJECTED
 * alarms watch) and by partner and status (for dashboards).
 */
export function recordBatchMetrics(metrics: ServiceMetrics, state: BatchState): void {
  emit(metrics, 'Batches', 1, { status: state.status });
  emit(metrics, 'Batches', 1, { partner: state.partner, status: state.status });
  if (!state.counts) return;
  emit(metrics, 'RecordsValid', state.counts.valid, { partner: state.partner });
  emit(metrics, 'RecordsInvalid', state.counts.invalid, { partner: state.partner });
  emit(metrics, 'WorkItemsSent', state.counts.workItemsSent, { partner: state.partner });
}
