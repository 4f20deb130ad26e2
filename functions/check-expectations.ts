import { checkExpectations } from '../src/expectations/check';
import { checkExpectationsRuntime } from '../src/expectations/runtime';
import { logger } from '../src/platform/telemetry';

/**
 * check-expectations: every 5 minutes, compares each feed's due windows with
 * the ledger and publishes Feed File Missing / Late / Unexpected, each once.
 */
export const handler = async (): Promise<{ feeds: number; published: number }> => {
  const deps = checkExpectationsRuntime();
  try {
    const checks = await checkExpectations(deps);
    const published = checks.flatMap((check) => check.published.map((event) => event.eventId));
    if (published.length) logger.info('feed events published', { published });
    return { feeds: checks.length, published: published.length };
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
