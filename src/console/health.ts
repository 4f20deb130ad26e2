import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

export interface AlarmInAlarm {
  readonly name: string;
  readonly reason: string;
  readonly since: string | null;
}

/**
 * A section of the overview that CloudWatch could not give (e.g. the operator's
 * role lacks cloudwatch:DescribeAlarms): said on the page, the rest still shown.
 */
export type OrUnavailable<T> = { readonly value: T } | { readonly unavailable: string };

export async function orUnavailable<T>(work: () => Promise<T>): Promise<OrUnavailable<T>> {
  try {
    return { value: await work() };
  } catch (error) {
    const named = error as { name?: string; message?: string };
    return { unavailable: `${named.name ?? 'Error'}: ${named.message ?? String(error)}` };
  }
}

/** The stage's alarms (resources/alarms.yml names them `<stage>-partner-ingest-…`) now in ALARM. */
export function alarmsInAlarm(cloudWatch: CloudWatchClient, stage: string): Promise<OrUnavailable<AlarmInAlarm[]>> {
  return orUnavailable(async () => {
    const alarms: AlarmInAlarm[] = [];
    let NextToken: string | undefined;
    do {
      const page = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${stage}-partner-ingest-`, StateValue: 'ALARM', NextToken }));
      for (const alarm of page.MetricAlarms ?? []) {
        alarms.push({ name: alarm.AlarmName!, reason: alarm.StateReason ?? '', since: alarm.StateUpdatedTimestamp?.toISOString() ?? null });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return alarms;
  });
}

/** How far back the age of the oldest message is looked for: SQS reports it each minute while a queue is active. */
const AGE_WINDOW_MS = 15 * 60_000;

/**
 * The latest ApproximateAgeOfOldestMessage (seconds) of each queue, by queue
 * name; null where CloudWatch has no recent datapoint (an idle queue).
 */
export function oldestMessageAges(cloudWatch: CloudWatchClient, queueNames: readonly string[], now: Date): Promise<OrUnavailable<Record<string, number | null>>> {
  return orUnavailable(async () => {
    const queries: MetricDataQuery[] = queueNames.map((name, index) => ({
      Id: `q${index}`,
      MetricStat: {
        Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: name }] },
        Period: 60,
        Stat: 'Maximum',
      },
    }));
    const { MetricDataResults = [] } = await cloudWatch.send(
      new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(now.getTime() - AGE_WINDOW_MS), EndTime: now, ScanBy: 'TimestampDescending' }),
    );
    const ages: Record<string, number | null> = {};
    queueNames.forEach((name, index) => {
      const latest = MetricDataResults.find((result) => result.Id === `q${index}`)?.Values?.[0];
      ages[name] = latest ?? null;
    });
    return ages;
  });
}
