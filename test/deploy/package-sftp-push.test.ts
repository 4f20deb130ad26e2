/**
 * The SFTP push endpoint as `sls package` builds it from partners/*.yml: nothing
 * without a push partner; with them a Transfer Family server (SFTP only,
 * service-managed users, a current security policy, structured logs) and per
 * partner a user chrooted to its own upload folder with its keys and a role that
 * reaches that folder only; PUBLIC or in a VPC behind an allow-list.
 * (cfn-lint of the push templates: package-functions.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { asList, expectNoWildcards, grants, LANDING_ARN, packagedVariants, PUSH_PARTNERS, PUSH_VPC } from './package-variants';
import { type CfnTemplate, output, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType } from './packaging';

let dev: Packaged;
let push: Packaged;
let pushVpc: Packaged;
let publicAllowList: Packaged;
let shortRetention: Packaged;

beforeAll(async () => {
  [dev, push, pushVpc, publicAllowList, shortRetention] = await packagedVariants('dev', 'push', 'push-vpc', 'push-public-allow-list', 'push-short-retention');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

/** The endpoint's resources; the hand-off function (its role, log group and error alarm) is packaged on every stage. */
const pushResources = (template: CfnTemplate) =>
  Object.entries(template.Resources).filter(
    ([logicalId, found]) => (logicalId.startsWith('SftpPush') && !logicalId.startsWith('SftpPushHandoff')) || found.Type.startsWith('AWS::Transfer::'),
  );

/** The keys a copy's partner file lists, as the user should get them (comments dropped). */
function keysOf(packaged: Packaged, id: string): string[] {
  const partner = parseYaml(readFileSync(path.join(packaged.dir, 'partners', `${id}.yml`), 'utf8')) as Record<string, any>;
  return (partner.sources.sftpPush.publicKeys as string[]).map((key) => key.split(' ').slice(0, 2).join(' '));
}

function userOf(template: CfnTemplate, id: string) {
  const users = resourcesOfType(template, 'AWS::Transfer::User').filter(([, user]) => user.Properties?.UserName === id);
  expect(users).toHaveLength(1);
  return resource(template, users[0]![0]);
}

describe('no partner pushes (the shipped partners)', () => {
  test('no server, no user, no role or output of the endpoint', () => {
    expect(pushResources(dev.template)).toEqual([]);
    expect(Object.keys(dev.template.Outputs ?? {}).filter((name) => name.startsWith('SftpPush') && !name.startsWith('SftpPushHandoff'))).toEqual([]);
  });
});

describe('partners that push (PUBLIC endpoint)', () => {
  test('one SFTP-only server with service-managed users on S3, a current security policy and structured logs', () => {
    const servers = resourcesOfType(push.template, 'AWS::Transfer::Server');
    expect(servers.map(([logicalId]) => logicalId)).toEqual(['SftpPushServer']);
    const server = resource(push.template, 'SftpPushServer').Properties;
    expect(server).toMatchObject({
      Protocols: ['SFTP'],
      IdentityProviderType: 'SERVICE_MANAGED',
      Domain: 'S3',
      EndpointType: 'PUBLIC',
      SecurityPolicyName: 'TransferSecurityPolicy-2024-01',
      StructuredLogDestinations: [{ 'Fn::GetAtt': ['SftpPushLogGroup', 'Arn'] }],
      LoggingRole: { 'Fn::GetAtt': ['SftpPushLoggingRole', 'Arn'] },
    });
    expect(server.EndpointDetails).toBeUndefined();
    expect(resource(push.template, 'SftpPushLogGroup').Properties.RetentionInDays).toBe(30);
    expect(push.template.Outputs?.SftpPushServerId?.Value).toEqual({ 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] });
  });

  test('the logging role may write to the server log group only', () => {
    const logging = grants(push.template, 'SftpPushLoggingRole');
    expectNoWildcards(logging.statements);
    expect(logging.actions).toEqual(['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
    expect(logging.resourcesOf('logs:PutLogEvents')).toEqual([
      { 'Fn::GetAtt': ['SftpPushLogGroup', 'Arn'] },
      { 'Fn::Sub': '${SftpPushLogGroup.Arn}:log-stream:*' },
    ]);
    expect(resource(push.template, 'SftpPushLoggingRole').Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'transfer.amazonaws.com',
    });
  });

  test('one user per push partner: its id, its keys, its own folder as / (logical home), its own role', () => {
    expect(resourcesOfType(push.template, 'AWS::Transfer::User')).toHaveLength(PUSH_PARTNERS.length);
    for (const id of PUSH_PARTNERS) {
      const user = userOf(push.template, id).Properties;
      expect(user.ServerId).toEqual({ 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] });
      expect(user.SshPublicKeys).toEqual(keysOf(push, id));
      expect(user.HomeDirectoryType).toBe('LOGICAL');
      expect(user.HomeDirectoryMappings).toEqual([{ Entry: '/', Target: { 'Fn::Sub': `/\${LandingBucket}/pushed-uploads/${id}` } }]);
      expect(user.Role).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SftpPush.+Role$/), 'Arn'] });
    }
    expect(keysOf(push, 'initrode')).toHaveLength(2);
  });

  test("each user's role reaches its own upload folder only: no other partner's, no other prefix", () => {
    for (const id of PUSH_PARTNERS) {
      const roleId = userOf(push.template, id).Properties.Role['Fn::GetAtt'][0] as string;
      const role = grants(push.template, roleId);
      expectNoWildcards(role.statements);
      // The KMS pair is the SSE-KMS branch of an Fn::If, on the landing key only.
      expect(role.actions).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
      expect(role.resourcesOf('kms:GenerateDataKey')).toEqual([{ 'Fn::GetAtt': ['LandingKey', 'Arn'] }]);
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']) {
        expect(role.resourcesOf(action)).toEqual([{ 'Fn::Sub': `\${LandingBucket.Arn}/pushed-uploads/${id}/*` }]);
      }
      const list = role.statements.find((statement) => asList(statement.Action).includes('s3:ListBucket'))!;
      expect(list.Resource).toEqual({ 'Fn::GetAtt': ['LandingBucket', 'Arn'] });
      expect(list.Condition).toEqual({ StringLike: { 's3:prefix': [`pushed-uploads/${id}/`, `pushed-uploads/${id}/*`] } });
      // Assumed by Transfer Family for this partner's user on this server, nothing else.
      const trust = resource(push.template, roleId).Properties.AssumeRolePolicyDocument.Statement;
      expect(trust).toHaveLength(1);
      expect(trust[0]).toMatchObject({ Effect: 'Allow', Principal: { Service: 'transfer.amazonaws.com' }, Action: 'sts:AssumeRole' });
      expect(trust[0].Condition.ArnEquals['aws:SourceArn']['Fn::Sub']).toMatch(new RegExp(`:user/\\$\\{SftpPushServer\\.ServerId\\}/${id}$`));
      expect(trust[0].Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
      // Nothing in the role names another partner.
      const text = JSON.stringify(role.statements);
      for (const other of PUSH_PARTNERS.filter((partner) => partner !== id)) expect(text).not.toContain(other);
    }
  });

  test("the server's upload reports (completed, failed) invoke sftpPushHandoff, which EventBridge may invoke from that rule only", () => {
    const rule = resource(push.template, 'SftpPushUploadEventsRule').Properties;
    expect(rule.EventBusName).toBeUndefined(); // Transfer Family reports on the default bus
    expect(rule.EventPattern).toEqual({
      source: ['aws.transfer'],
      'detail-type': ['SFTP Server File Upload Completed', 'SFTP Server File Upload Failed'],
      detail: { 'server-id': [{ 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] }] },
    });
    expect(rule.Targets).toEqual([
      {
        Id: 'sftpPushHandoff',
        Arn: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'Arn'] } },
      },
    ]);
    expect(resource(push.template, 'SftpPushHandoffInvokedByRule').Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['SftpPushUploadEventsRule', 'Arn'] },
    });
    // Without push partners the function is packaged (a stable stack shape) but nothing invokes it.
    expect(resourcesOfType(dev.template, 'AWS::Lambda::Permission').filter(([logicalId]) => logicalId.startsWith('SftpPush'))).toEqual([]);
  });

  test('a hand-off that fails every attempt, or never reaches the function, is dead-lettered to an encrypted queue with an alarm', () => {
    const queue = resource(push.template, 'SftpPushHandoffDLQ').Properties;
    expect(queue).toMatchObject({ QueueName: 'partner-ingest-dev-sftp-push-handoff-dlq', SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    // EventBridge's delivery failures: only this stage's upload events rule may send.
    const policy = resource(push.template, 'SftpPushHandoffDLQPolicy').Properties;
    expect(policy.Queues).toEqual([{ Ref: 'SftpPushHandoffDLQ' }]);
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'UploadEventsRuleDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['SftpPushUploadEventsRule', 'Arn'] } } },
      },
    ]);
    // The function's own failures, after Lambda's two retries: its on-failure destination, sent with its role.
    expect(resource(push.template, 'SftpPushHandoffInvokeConfig').Properties).toEqual({
      FunctionName: { Ref: 'SftpPushHandoffLambdaFunction' },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'Arn'] } } },
    });
    const role = grants(push.template, 'SftpPushHandoffRole');
    expect(role.resourcesOf('sqs:SendMessage')).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:partner-ingest-dev-sftp-push-handoff-dlq' },
    ]);
    expect(resource(push.template, 'SftpPushHandoffDLQNotEmptyAlarm').Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    // No queue, no invoke config without push partners.
    expect(dev.template.Resources.SftpPushHandoffDLQ).toBeUndefined();
    expect(dev.template.Resources.SftpPushHandoffInvokeConfig).toBeUndefined();
  });

  test('every 15 minutes the sweep runs sftpPushHandoff, which that schedule may invoke; an alarm per partner on SftpPushUnreported', () => {
    const schedule = resource(push.template, 'SftpPushSweepSchedule').Properties;
    expect(schedule).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [{ Id: 'sftpPushSweep', Arn: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] } }],
    });
    expect(schedule.EventBusName).toBeUndefined(); // schedules run on the default bus
    expect(resource(push.template, 'SftpPushHandoffInvokedBySweep').Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['SftpPushSweepSchedule', 'Arn'] },
    });
    for (const id of PUSH_PARTNERS) {
      const alarms = resourcesOfType(push.template, 'AWS::CloudWatch::Alarm').filter(
        ([, alarm]) => alarm.Properties?.MetricName === 'SftpPushUnreported' && JSON.stringify(alarm.Properties?.Dimensions).includes(`"${id}"`),
      );
      expect(alarms).toHaveLength(1);
      expect(alarms[0]![1].Properties).toMatchObject({
        AlarmName: `dev-partner-ingest-sftp-push-unreported-${id}`,
        Namespace: 'PartnerIngest',
        Dimensions: [{ Name: 'service', Value: 'partner-ingest' }, { Name: 'partner', Value: id }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
    }
    // No push partner, no sweep.
    expect(dev.template.Resources.SftpPushSweepSchedule).toBeUndefined();
    expect(resourcesOfType(dev.template, 'AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties?.MetricName === 'SftpPushUnreported')).toEqual([]);
  });

  test("the hand-off's role may list the bucket (the sweep) and write and read its records under push-handoffs/ only", () => {
    const role = grants(push.template, 'SftpPushHandoffRole');
    expect(role.resourcesOf('s3:ListBucket')).toEqual([{ 'Fn::Sub': `${LANDING_ARN}` }]); // the bucket itself: listings of it, no object
    const records = role.statements.find((statement) => statement.Sid === 'RecordHandoffs')!;
    expect(asList(records.Action)).toEqual(['s3:PutObject', 's3:GetObject']);
    expect(JSON.stringify(records.Resource)).toMatch(/\/push-handoffs\/\*"/);
    expect(role.resourcesOf('s3:AbortMultipartUpload')).toHaveLength(2); // pushed/ and quarantine/ (a failed multipart copy)
  });

  test('a pushed-uploads/ retention within the sweep window fails the package, naming the param', () => {
    expect(shortRetention.result.code).not.toBe(0);
    expect(output(shortRetention.result)).toContain("param pushedUploadsRetentionDays: 7 must be more than the push sweep's 7-day window");
  });

  test('an alarm per push partner on SftpPushUploadFailed (a quarantined partial upload)', () => {
    for (const id of PUSH_PARTNERS) {
      const alarms = resourcesOfType(push.template, 'AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties?.MetricName === 'SftpPushUploadFailed' && JSON.stringify(alarm.Properties?.Dimensions).includes(`"${id}"`));
      expect(alarms).toHaveLength(1);
      expect(alarms[0]![1].Properties).toMatchObject({
        AlarmName: `dev-partner-ingest-sftp-push-upload-failed-${id}`,
        Namespace: 'PartnerIngest',
        Dimensions: [{ Name: 'service', Value: 'partner-ingest' }, { Name: 'partner', Value: id }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
    }
  });

  test('the landing bucket does not notify pushed-uploads/, so no upload is ingested before it is complete', () => {
    const rules = resource(push.template, 'LandingBucket').Properties.NotificationConfiguration.QueueConfigurations.flatMap(
      (configuration: any) => configuration.Filter.S3Key.Rules.map((rule: any) => rule.Value as string),
    );
    expect(rules).not.toHaveLength(0);
    for (const prefix of rules) expect('pushed-uploads/'.startsWith(prefix)).toBe(false);
  });

  test('a push partner that also drops into S3 keeps its write role, which cannot write pushed-uploads/', () => {
    const write = grants(push.template, 'PartnerVandelayWriteRole');
    expect(write.resourcesOf('s3:PutObject')).toEqual([{ 'Fn::Sub': '${LandingBucket.Arn}/inbound/vandelay/*' }]);
    expect(push.template.Resources.PartnerInitrodeWriteRole).toBeUndefined();
  });
});

describe('partners that push, the endpoint in a VPC', () => {
  test('a VPC endpoint in the given subnets behind a security group admitting port 22 from the allow-list only', () => {
    const server = resource(pushVpc.template, 'SftpPushServer').Properties;
    expect(server.EndpointType).toBe('VPC');
    expect(server.EndpointDetails).toEqual({
      VpcId: PUSH_VPC.vpcId,
      SubnetIds: PUSH_VPC.subnetIds,
      SecurityGroupIds: [{ Ref: 'SftpPushSecurityGroup' }],
    });
    const group = resource(pushVpc.template, 'SftpPushSecurityGroup').Properties;
    expect(group.VpcId).toBe(PUSH_VPC.vpcId);
    expect(group.SecurityGroupIngress.map((rule: any) => ({ protocol: rule.IpProtocol, from: rule.FromPort, to: rule.ToPort, cidr: rule.CidrIp }))).toEqual(
      PUSH_VPC.allowedCidrs.map((cidr) => ({ protocol: 'tcp', from: 22, to: 22, cidr })),
    );
    expect(resourcesOfType(push.template, 'AWS::EC2::SecurityGroup')).toEqual([]);
  });

  test('an allow-list on a PUBLIC endpoint (which takes no security group) fails the package, naming the param', () => {
    expect(publicAllowList.result.code).not.toBe(0);
    expect(output(publicAllowList.result)).toContain('param sftpPushAllowedCidrs: an IP allow-list needs sftpPushEndpointType VPC');
  });
});
