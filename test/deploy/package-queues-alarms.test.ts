/**
 * The queues and the alarms, as packaged: the SQS event sources and their
 * concurrency, the file-events queue policy, dead-letter queues and visibility
 * timeouts; the alarm topic, and an alarm on each dead-letter queue, backlog,
 * function's errors and metric of the code's own.
 */
import {
  ALARM_EMAIL,
  expectNoWildcards,
  grants,
  ingestFunction,
  functionByHandler,
  LANDING_ARN,
  packagedVariants,
  sftpPullFunction,
} from './package-variants';
import { type CfnResource, type CfnTemplate, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType } from './packaging';
import { WORK_QUEUE_MAX_MESSAGE_BYTES } from '../../src/work-items/envelopes';

let dev: Packaged;
let prod: Packaged;
let kms: Packaged;

beforeAll(async () => {
  [dev, prod, kms] = await packagedVariants('dev', 'prod', 'kms');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

describe('sls package --stage dev', () => {
  test('the function runs on nodejs24.x / arm64 from one SQS file event at a time, at most ingestFileConcurrency at once', () => {
    const fn = ingestFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);

    const mappings = resourcesOfType(dev.template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.map(([logicalId]) => logicalId).sort()).toEqual([
      'IngestFileEventSourceMappingSQSFileEventsQueue',
      'SendRangeEventSourceMappingSQSSendRangesQueue',
    ]);
    const mapping = resource(dev.template, 'IngestFileEventSourceMappingSQSFileEventsQueue').Properties;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] });
    expect(mapping.BatchSize).toBe(1);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    // A flood of drops cannot take the account's whole Lambda concurrency.
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    expect(resource(prod.template, 'IngestFileEventSourceMappingSQSFileEventsQueue').Properties.ScalingConfig).toEqual({ MaximumConcurrency: 20 });
  });

  test('sendRange takes one send range at a time, at most sendRangeConcurrency at once', () => {
    const mapping = resource(dev.template, 'SendRangeEventSourceMappingSQSSendRangesQueue').Properties;
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['SendRangeLambdaFunction', 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    expect(resource(prod.template, 'SendRangeEventSourceMappingSQSSendRangesQueue').Properties.ScalingConfig).toEqual({ MaximumConcurrency: 8 });
    // ingestFile splits a batch into as many ranges as there are senders.
    expect(ingestFunction(prod.template).Properties.Environment.Variables.MAX_SEND_RANGES).toBe('8');
    const queue = resource(dev.template, 'SendRangesQueue').Properties;
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: 5400, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['SendRangesDLQ', 'Arn'] } } });
    const sendRange = grants(dev.template, 'SendRangeRole');
    expectNoWildcards(sendRange.statements);
    expect(sendRange.resourcesOf('s3:GetObject')).toEqual([{ 'Fn::Sub': `${LANDING_ARN}/staging/*` }]);
    expect(sendRange.resourcesOf('s3:PutObject')).toEqual([]);
    expect(sendRange.resourcesOf('sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, { 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] }]),
    );
    expect(sendRange.resourcesOf('sqs:SendMessage')).toHaveLength(2);
    expect(grants(dev.template, 'IngestFileRole').resourcesOf('sqs:SendMessage')).toContainEqual({ 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] });
  });

  test('only S3, from this bucket and account, may send to the file-events queue', () => {
    const statement = resource(dev.template, 'FileEventsQueuePolicy').Properties.PolicyDocument.Statement[0];
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: {
        ArnLike: {
          'aws:SourceArn': { 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:s3:::partner-ingest-dev-/) },
        },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      },
    });
    // The ARN in the policy is the bucket's name, spelled the same way.
    const bucketName = resource(dev.template, 'LandingBucket').Properties.BucketName['Fn::Sub'] as string;
    expect(statement.Condition.ArnLike['aws:SourceArn']['Fn::Sub']).toBe(`arn:\${AWS::Partition}:s3:::${bucketName}`);
  });

  test('queues have DLQs, SQS-managed SSE, and the file-events visibility timeout covers 6 function timeouts', () => {
    const timeout = ingestFunction(dev.template).Properties.Timeout as number;
    const fileEvents = resource(dev.template, 'FileEventsQueue').Properties;
    expect(fileEvents.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(fileEvents.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['FileEventsDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    const work = resource(dev.template, 'WorkQueue').Properties;
    // SQS's largest: a feed may opt in to messages up to it (workItems.maxMessageBytes); its DLQ takes the same.
    expect(work.MaximumMessageSize).toBe(WORK_QUEUE_MAX_MESSAGE_BYTES);
    expect(resource(dev.template, 'WorkDLQ').Properties.MaximumMessageSize).toBe(WORK_QUEUE_MAX_MESSAGE_BYTES);
    // params.default.workQueueVisibilityTimeout: 6x a 30-second downstream consumer.
    expect(work.VisibilityTimeout).toBe(180);
    expect(work.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['WorkDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(resource(dev.template, 'WorkDLQ').Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const [logicalId, queue] of resourcesOfType(dev.template, 'AWS::SQS::Queue')) {
      expect([logicalId, queue.Properties?.SqsManagedSseEnabled]).toEqual([logicalId, true]);
    }
  });
});

/** An alarm reduced to what decides when it fires: metric, dimensions (sorted), statistic, comparison. */
function alarmDefinition(alarm: CfnResource) {
  const props = alarm.Properties!;
  return {
    namespace: props.Namespace as string,
    metric: props.MetricName as string,
    dimensions: [...(props.Dimensions as { Name: string; Value: unknown }[])].sort((a, b) => a.Name.localeCompare(b.Name)),
    statistic: props.Statistic as string,
    comparison: `${props.ComparisonOperator as string} ${String(props.Threshold)}`,
  };
}

const alarmsOf = (template: CfnTemplate) => resourcesOfType(template, 'AWS::CloudWatch::Alarm');

interface EmittedMetric {
  namespace: string;
  metric: string;
  dimensions: Record<string, string>;
}

/**
 * The EMF metrics the code writes to stdout while `action` runs, with Powertools
 * configured from a function's environment in the template (a fresh module
 * registry; createMetrics reads that environment, as a cold start does).
 */
async function emittedMetrics(
  fnEnvironment: Record<string, unknown>,
  action: (load: <T>(module: string) => T) => Promise<unknown>,
): Promise<EmittedMetric[]> {
  const names = ['POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_DEV'];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  delete process.env.POWERTOOLS_DEV;
  process.env.POWERTOOLS_SERVICE_NAME = fnEnvironment.POWERTOOLS_SERVICE_NAME as string;
  process.env.POWERTOOLS_METRICS_NAMESPACE = fnEnvironment.POWERTOOLS_METRICS_NAMESPACE as string;
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    let loaded!: <T>(module: string) => T;
    jest.isolateModules(() => {
      loaded = <T,>(module: string) => require(module) as T;
    });
    await action(loaded);
  } finally {
    write.mockRestore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.includes('"CloudWatchMetrics"'))
    .flatMap((line) => {
      const emf = JSON.parse(line) as Record<string, any>;
      return (emf._aws.CloudWatchMetrics as { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[]).flatMap(
        (directive) =>
          directive.Metrics.flatMap((metric) =>
            directive.Dimensions.map((set) => ({
              namespace: directive.Namespace,
              metric: metric.Name,
              dimensions: Object.fromEntries(set.map((name) => [name, String(emf[name])])),
            })),
          ),
      );
    });
}

describe('alarms', () => {
  const topic = [{ Ref: 'AlarmTopic' }];
  const above = (threshold: number) => `GreaterThanThreshold ${threshold}`;

  test('go to an alarm topic encrypted with a key CloudWatch may use (not aws/sns), published to by this account\'s alarms only', () => {
    const alarmTopic = resource(dev.template, 'AlarmTopic').Properties;
    expect(alarmTopic.TopicName).toBe('partner-ingest-dev-alarms');
    expect(alarmTopic.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const key = resource(dev.template, 'AlarmTopicKey');
    expect(key.Condition).toBeUndefined();
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    const policy = resource(dev.template, 'AlarmTopicPolicy').Properties;
    expect(policy.Topics).toEqual(topic);
    expect(policy.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: 'AlarmTopic' },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*' } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    ]);
    expect(dev.template.Outputs?.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
  });

  test('the email subscription is the stage\'s alarmEmail param, and absent when it is empty', () => {
    const subscriptions = resourcesOfType(dev.template, 'AWS::SNS::Subscription');
    expect(subscriptions.map(([logicalId]) => logicalId)).toEqual(['AlarmEmailSubscription']);
    expect(subscriptions[0]![1].Condition).toBe('HasAlarmEmail');
    // No alarmEmail on dev or prod today: the condition is false there.
    const isFalse = { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] };
    expect(dev.template.Conditions?.HasAlarmEmail).toEqual(isFalse);
    expect(prod.template.Conditions?.HasAlarmEmail).toEqual(isFalse);
    // --param alarmEmail=...: subscribed.
    expect(kms.template.Conditions?.HasAlarmEmail).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [ALARM_EMAIL, ''] }] });
    expect(resource(kms.template, 'AlarmEmailSubscription')).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: ALARM_EMAIL },
    });
  });

  test('every alarm is named for its stage, notifies the topic on alarm and on recovery, and treats missing data as fine', () => {
    for (const [template, stage] of [[dev.template, 'dev'], [prod.template, 'prod']] as const) {
      const alarms = alarmsOf(template);
      expect(alarms.length).toBeGreaterThan(0);
      for (const [logicalId, alarm] of alarms) {
        expect([logicalId, alarm.Properties]).toEqual([
          logicalId,
          expect.objectContaining({
            AlarmName: expect.stringMatching(new RegExp(`^${stage}-partner-ingest-[a-zA-Z0-9-]+$`)),
            AlarmActions: topic,
            OKActions: topic,
            // Except an SFTP partner's: every run reports its outcome, so no data is no run, not a good one.
            TreatMissingData: alarm.Properties!.MetricName === 'SftpPullFailed' ? 'missing' : 'notBreaching',
            EvaluationPeriods: 1,
            Period: 300,
          }),
        ]);
      }
      const names = alarms.map(([, alarm]) => alarm.Properties!.AlarmName as string);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  test('every dead-letter queue: alarm as soon as it holds a message', () => {
    const dlqs = resourcesOfType(dev.template, 'AWS::SQS::Queue')
      .map(([, queue]) => queue.Properties?.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0] as string | undefined)
      .filter((dlq): dlq is string => dlq !== undefined)
      .sort();
    expect(dlqs).toEqual(['FileEventsDLQ', 'SendRangesDLQ', 'WorkDLQ']);
    const definitions = alarmsOf(dev.template).map(([, alarm]) => alarmDefinition(alarm));
    for (const dlq of dlqs) {
      expect(definitions).toContainEqual({
        namespace: 'AWS/SQS',
        metric: 'ApproximateNumberOfMessagesVisible',
        dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        statistic: 'Maximum',
        comparison: above(0),
      });
    }
  });

  test('the file-events and work queues: alarm on the age of their oldest message, per stage param', () => {
    const definitions = alarmsOf(dev.template).map(([, alarm]) => alarmDefinition(alarm));
    // params.default.fileEventsMaxAgeSeconds and workQueueMaxAgeSeconds.
    for (const [queue, seconds] of [['FileEventsQueue', 1800], ['WorkQueue', 3600]] as const) {
      expect(definitions).toContainEqual({
        namespace: 'AWS/SQS',
        metric: 'ApproximateAgeOfOldestMessage',
        dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
        statistic: 'Maximum',
        comparison: above(seconds),
      });
    }
    // Longer than one full ingestFile run, so a long file alone does not trip it.
    expect(1800).toBeGreaterThan(ingestFunction(dev.template).Properties.Timeout as number);
  });

  test('every function: alarm on any error', () => {
    const functions = resourcesOfType(dev.template, 'AWS::Lambda::Function').map(([logicalId]) => logicalId).sort();
    expect(functions).toEqual(
      [
        'CheckExpectationsLambdaFunction',
        'IngestFileLambdaFunction',
        'OperatorApiLambdaFunction',
        'ReplayLambdaFunction',
        'SendRangeLambdaFunction',
        'SftpPullLambdaFunction',
        'SftpPushHandoffLambdaFunction',
      ],
    );
    const errorAlarms = alarmsOf(dev.template)
      .map(([, alarm]) => alarmDefinition(alarm))
      .filter((definition) => definition.namespace === 'AWS/Lambda');
    expect(errorAlarms).toHaveLength(functions.length);
    for (const fn of functions) {
      expect(errorAlarms).toContainEqual({
        namespace: 'AWS/Lambda',
        metric: 'Errors',
        dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        statistic: 'Sum',
        comparison: above(0),
      });
    }
  });

  test('batches FAILED, batches REJECTED, SFTP host-key mismatches and failed SFTP pulls: alarms on the metrics the code emits', async () => {
    const environment = ingestFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    expect(sftpPullFunction(dev.template).Properties.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: environment.POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: environment.POWERTOOLS_METRICS_NAMESPACE,
    });
    const custom = alarmsOf(dev.template)
      .map(([, alarm]) => alarmDefinition(alarm))
      .filter((definition) => !definition.namespace.startsWith('AWS/'));
    const dimensions = (values: Record<string, string>) =>
      Object.entries(values)
        .map(([Name, Value]) => ({ Name, Value }))
        .sort((a, b) => a.Name.localeCompare(b.Name));
    const service = environment.POWERTOOLS_SERVICE_NAME as string;
    expect(service).toBe('partner-ingest');
    expect(custom).toEqual([
      ...['FAILED', 'REJECTED'].map((status) => ({
        namespace: 'PartnerIngest',
        metric: 'Batches',
        dimensions: dimensions({ service, status }),
        statistic: 'Sum',
        comparison: above(0),
      })),
      {
        namespace: 'PartnerIngest',
        metric: 'SftpHostKeyMismatch',
        dimensions: dimensions({ service }),
        statistic: 'Sum',
        comparison: above(0),
      },
      // A feed's file missing at its due time + grace (checkExpectations).
      {
        namespace: 'PartnerIngest',
        metric: 'FeedFileEvents',
        dimensions: dimensions({ service, type: 'MISSING' }),
        statistic: 'Sum',
        comparison: above(0),
      },
      // One per SFTP partner (generated from partners/*.yml): globex on dev.
      {
        namespace: 'PartnerIngest',
        metric: 'SftpPullFailed',
        dimensions: dimensions({ service, partner: 'globex' }),
        statistic: 'Sum',
        comparison: above(0),
      },
    ]);

    // What the code writes when a batch ends FAILED or REJECTED (ingestFile), and when a
    // partner's SFTP server presents an unpinned host key or cannot be reached (sftpPull,
    // its pull of a partner replaced by one that fails so). A CloudWatch metric is its
    // namespace, name and exact set of dimensions: each alarm must name one the code emits.
    const batchMetrics = await emittedMetrics(environment, async (load) => {
      const { createMetrics, recordBatchMetrics } = load<typeof import('../../src/platform/telemetry')>('../../src/platform/telemetry');
      const metrics = createMetrics();
      for (const status of ['FAILED', 'REJECTED'] as const) recordBatchMetrics(metrics, { status, partner: 'acme' } as never);
    });
    const sftpEnvironment = sftpPullFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    const sftpMetrics = await emittedMetrics(sftpEnvironment, async (load) => {
      const { HostKeyMismatchError } = load<typeof import('../../src/sftp/errors')>('../../src/sftp/errors');
      let failure: Error = new HostKeyMismatchError('globex', 'SHA256:presented', ['SHA256:pinned']);
      jest.doMock('../../src/sftp/pull-partner', () => ({
        pullPartner: async () => {
          throw failure;
        },
      }));
      try {
        const { pullAll } = load<typeof import('../../src/sftp/pull-all')>('../../src/sftp/pull-all');
        const { createMetrics } = load<typeof import('../../src/platform/telemetry')>('../../src/platform/telemetry');
        const globex = { id: 'globex', sources: { sftp: { host: 'sftp.globex.example', port: 22 } } };
        const pullGlobex = () =>
          pullAll(
            {
              registry: { partners: new Map([['globex', globex]]) },
              logger: { error: () => undefined },
              publisher: { publishAlert: async () => undefined },
              files: { recordPull: async () => undefined }, // the pull status operators see
              metrics: createMetrics(),
            } as never,
            {} as never,
          );
        expect(await pullGlobex()).toEqual([expect.objectContaining({ outcome: 'failed', code: 'SFTP_HOST_KEY_MISMATCH' })]);
        failure = Object.assign(new Error('getaddrinfo ENOTFOUND sftp.globex.example'), { code: 'ENOTFOUND' });
        expect(await pullGlobex()).toEqual([expect.objectContaining({ outcome: 'failed', code: 'ENOTFOUND' })]);
      } finally {
        jest.dontMock('../../src/sftp/pull-partner');
      }
    });
    const checkerEnvironment = functionByHandler(dev.template, 'functions/check-expectations.handler').Properties.Environment.Variables as Record<string, unknown>;
    const feedMetrics = await emittedMetrics(checkerEnvironment, async (load) => {
      const { recordFeedEventMetrics } = load<typeof import('../../src/expectations/metrics')>('../../src/expectations/metrics');
      const { createMetrics } = load<typeof import('../../src/platform/telemetry')>('../../src/platform/telemetry');
      recordFeedEventMetrics(createMetrics(), { partner: 'acme', feed: 'orders', type: 'MISSING' });
    });
    const emitted = [...batchMetrics, ...sftpMetrics, ...feedMetrics].map((metric) => ({
      namespace: metric.namespace,
      metric: metric.metric,
      dimensions: dimensions(metric.dimensions),
    }));
    for (const alarm of custom) {
      expect(emitted).toContainEqual({ namespace: alarm.namespace, metric: alarm.metric, dimensions: alarm.dimensions });
    }
  });

  test('exactly these alarms, on dev and prod alike', () => {
    const summary = (template: CfnTemplate) =>
      alarmsOf(template)
        .map(([, alarm]) => {
          const definition = alarmDefinition(alarm);
          return `${definition.metric} ${JSON.stringify(definition.dimensions.map((dimension) => dimension.Value))}`;
        })
        .sort();
    expect(summary(dev.template)).toEqual(
      [
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["FileEventsDLQ","QueueName"]}]',
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["WorkDLQ","QueueName"]}]',
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["SendRangesDLQ","QueueName"]}]',
        'ApproximateAgeOfOldestMessage [{"Fn::GetAtt":["FileEventsQueue","QueueName"]}]',
        'ApproximateAgeOfOldestMessage [{"Fn::GetAtt":["WorkQueue","QueueName"]}]',
        'Errors [{"Ref":"IngestFileLambdaFunction"}]',
        'Errors [{"Ref":"SendRangeLambdaFunction"}]',
        'Errors [{"Ref":"SftpPullLambdaFunction"}]',
        'Errors [{"Ref":"SftpPushHandoffLambdaFunction"}]',
        'Errors [{"Ref":"ReplayLambdaFunction"}]',
        'Errors [{"Ref":"OperatorApiLambdaFunction"}]',
        'Errors [{"Ref":"CheckExpectationsLambdaFunction"}]',
        'FeedFileEvents ["partner-ingest","MISSING"]',
        'Batches ["partner-ingest","FAILED"]',
        'Batches ["partner-ingest","REJECTED"]',
        'SftpHostKeyMismatch ["partner-ingest"]',
        'SftpPullFailed ["globex","partner-ingest"]',
      ].sort(),
    );
    expect(summary(prod.template)).toEqual(summary(dev.template));
  });
});
