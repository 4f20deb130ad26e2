/**
 * The expectations checker as `sls package` builds it: its function and
 * 5-minute schedule, one run at a time, a role that reads batches by partner,
 * writes only its own EXPECT# records and publishes, and the alarm on the
 * metric its code emits (FeedFileEvents, type MISSING: see the moto test,
 * test/integration/expectations.test.ts).
 */
import { expectNoWildcards, functionByHandler, packagedVariants, roleStatements } from './package-variants';
import { type CfnTemplate, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType } from './packaging';

let dev: Packaged;
let prod: Packaged;

beforeAll(async () => {
  [dev, prod] = await packagedVariants('dev', 'prod');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

const checker = (template: CfnTemplate) => functionByHandler(template, 'functions/check-expectations.handler');

describe('checkExpectations, packaged', () => {
  test('one run at a time, with the environment its runtime reads and its own role', () => {
    for (const template of [dev.template, prod.template]) {
      const fn = checker(template).Properties;
      expect(fn.ReservedConcurrentExecutions).toBe(1);
      expect(fn.Role).toEqual({ 'Fn::GetAtt': ['CheckExpectationsRole', 'Arn'] });
      expect(Object.keys(fn.Environment.Variables).sort()).toEqual(
        ['LEDGER_TABLE', 'EVENTS_TOPIC_ARN', 'EVENT_BUS_NAME', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL', 'NODE_OPTIONS'].sort(),
      );
      expect(fn.Environment.Variables).toMatchObject({ LEDGER_TABLE: { Ref: 'LedgerTable' }, EVENTS_TOPIC_ARN: { Ref: 'EventsTopic' } });
    }
  });

  test('runs every 5 minutes, from a schedule rule that alone may invoke it', () => {
    const [logicalId] = resourcesOfType(dev.template, 'AWS::Lambda::Function').find(([, fn]) => fn.Properties?.Handler === 'functions/check-expectations.handler')!;
    const rules = resourcesOfType(dev.template, 'AWS::Events::Rule').filter(([, rule]) =>
      JSON.stringify(rule.Properties?.Targets ?? []).includes(`"${logicalId}"`),
    );
    expect(rules.map(([, rule]) => [rule.Properties!.ScheduleExpression, rule.Properties!.State])).toEqual([['rate(5 minutes)', 'ENABLED']]);
    const permissions = resourcesOfType(dev.template, 'AWS::Lambda::Permission').filter(([, permission]) =>
      JSON.stringify(permission.Properties?.FunctionName).includes(logicalId),
    );
    expect(permissions.map(([, permission]) => [permission.Properties!.Principal, permission.Properties!.SourceArn])).toEqual([
      ['events.amazonaws.com', { 'Fn::GetAtt': [rules[0]![0], 'Arn'] }],
    ]);
  });

  test('least privilege: the by-partner index, its own EXPECT# records, publish; nothing else', () => {
    const statements = roleStatements(resource(dev.template, 'CheckExpectationsRole'));
    expectNoWildcards(statements);
    expect(statements.map((statement) => [statement.Sid, statement.Action, statement.Resource, statement.Condition])).toEqual([
      [
        'OwnLogGroup',
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/partner-ingest-dev-checkExpectations:*' },
        undefined,
      ],
      ['ReadBatchesByPartner', 'dynamodb:Query', { 'Fn::Sub': '${LedgerTable.Arn}/index/byPartner' }, undefined],
      [
        'OwnRecords',
        ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        { 'Fn::GetAtt': ['LedgerTable', 'Arn'] },
        { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EXPECT#*'] } },
      ],
      ['PublishFeedEvents', 'sns:Publish', { Ref: 'EventsTopic' }, undefined],
      ['PutFeedEvents', 'events:PutEvents', { 'Fn::GetAtt': ['EventBus', 'Arn'] }, undefined],
    ]);
  });

  test('alarms: a missing file (the metric the checker emits, with the service dimension Powertools adds), and the function failing', () => {
    const environment = checker(dev.template).Properties.Environment.Variables as Record<string, string>;
    const missing = resource(dev.template, 'FeedFileMissingAlarm').Properties;
    expect(missing).toMatchObject({
      AlarmName: 'dev-partner-ingest-feed-file-missing',
      Namespace: environment.POWERTOOLS_METRICS_NAMESPACE,
      MetricName: 'FeedFileEvents',
      Dimensions: [
        { Name: 'service', Value: environment.POWERTOOLS_SERVICE_NAME },
        { Name: 'type', Value: 'MISSING' },
      ],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
    });
    const [logicalId] = resourcesOfType(dev.template, 'AWS::Lambda::Function').find(([, fn]) => fn.Properties?.Handler === 'functions/check-expectations.handler')!;
    expect(resource(dev.template, 'CheckExpectationsErrorsAlarm').Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
    });
  });
});
