import type { ServiceMetrics } from '../../src/platform/telemetry';

export interface RecordedMetric {
  readonly name: string;
  readonly value: number;
  readonly dimensions: Record<string, string>;
}

/** Metrics that record what a function emitted (emit() goes through singleMetric). */
export function recordingMetrics(): ServiceMetrics & { recorded: RecordedMetric[] } {
  const recorded: RecordedMetric[] = [];
  return {
    recorded,
    publishStoredMetrics: () => undefined,
    singleMetric: () => {
      let dimensions: Record<string, string> = {};
      const single = {
        addDimensions: (added: Record<string, string>) => void (dimensions = { ...dimensions, ...added }),
        addMetric: (name: string, _unit: unknown, value: number) => void recorded.push({ name, value, dimensions }),
      };
      return single as unknown as ReturnType<ServiceMetrics['singleMetric']>;
    },
  } as unknown as ServiceMetrics & { recorded: RecordedMetric[] };
}
