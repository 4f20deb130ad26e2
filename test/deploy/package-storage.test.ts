/**
 * Where the data stays, as packaged: the landing bucket and its encryption
 * (SSE-S3, or the customer-managed key of landingEncryption=SSE-KMS), the ledger
 * table and its indexes, the events topic, bus and archive, and what differs on prod.
 */
import { EVENT_SOURCE } from '../../src/completion/completion-event';
import { LEDGER_INDEXES } from '../../src/ledger/table';
import { asList, packagedVariants, roleStatements } from './package-variants';
import { PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType } from './packaging';

let dev: Packaged;
let prod: Packaged;
let kms: Packaged;

beforeAll(async () => {
  [dev, prod, kms] = await packagedVariants('dev', 'prod', 'kms');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

describe('sls package --stage dev', () => {
  test('the landing bucket is encrypted, private, TLS-only and notifies the file-events queue for inbound/, pulled/ and pushed/ (not pushed-uploads/)', () => {
    const bucket = resource(dev.template, 'LandingBucket');
    const props = bucket.Properties;
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const sse = props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
    expect(sse['Fn::If'][0]).toBe('LandingUsesKms');
    expect(sse['Fn::If'][2]).toEqual({ SSEAlgorithm: 'AES256' });
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.NotificationConfiguration.QueueConfigurations).toEqual(
      ['inbound/', 'pulled/', 'pushed/'].map((prefix) => ({
        Event: 's3:ObjectCreated:*',
        Queue: { 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
      })),
    );
    // No bucket -> queue policy -> bucket cycle: the policy must exist before the notification.
    expect(asList(bucket.DependsOn)).toContain('FileEventsQueuePolicy');

    const rules = props.LifecycleConfiguration.Rules as Record<string, any>[];
    expect(rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    );
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'staging/', ExpirationInDays: expect.any(Number) }));
    // The SFTP push folders: uploads (and the hand-off's records of them) 14 days, past the sweep's 7-day window;
    // quarantined partial uploads 90. Versioned: what expires becomes noncurrent, gone a day later.
    const byPrefix = (prefix: string) => rules.filter((rule) => rule.Prefix === prefix);
    for (const [prefix, days] of [['pushed-uploads/', 14], ['push-handoffs/', 14], ['quarantine/', 90]] as const) {
      expect(byPrefix(prefix)).toEqual([
        expect.objectContaining({ Status: 'Enabled', ExpirationInDays: days, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
      ]);
    }
    // Incomplete multipart uploads (a cut-off SFTP transfer under pushed-uploads/ too) are aborted after a day, bucket-wide.
    const abort = rules.filter((rule) => rule.AbortIncompleteMultipartUpload);
    expect(abort).toEqual([expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]);
    expect(abort[0]!.Prefix).toBeUndefined();
    expect(abort[0]!.Filter).toBeUndefined();

    const [policy] = resourcesOfType(dev.template, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => p.Properties?.Bucket?.Ref === 'LandingBucket',
    );
    expect(policy).toBeDefined();
    expect(policy![1].Properties!.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  test('topic, bus and ledger table', () => {
    expect(resource(dev.template, 'EventsTopic').Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    expect(resource(dev.template, 'EventBus').Properties.Name).toBe('partner-ingest-dev');
    const table = resource(dev.template, 'LedgerTable').Properties;
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.AttributeDefinitions).toEqual(
      ['pk', 'sk', 'status', 'partner', 'receivedDay', 'receivedAt'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    );
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('the ledger has the indexes the code queries (src/ledger/table.ts), keyed as it expects', () => {
    const indexes = resource(dev.template, 'LedgerTable').Properties.GlobalSecondaryIndexes as Record<string, any>[];
    const keys = (hash: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: 'receivedAt', KeyType: 'RANGE' },
    ];
    expect(indexes).toEqual([
      { IndexName: 'byStatus', KeySchema: keys('status'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byPartner', KeySchema: keys('partner'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byDay', KeySchema: keys('receivedDay'), Projection: { ProjectionType: 'ALL' } },
    ]);
    expect(
      indexes.map((index) => ({ name: index.IndexName, partitionKey: index.KeySchema[0].AttributeName, sortKey: index.KeySchema[1].AttributeName })),
    ).toEqual(Object.values(LEDGER_INDEXES));
    // PAY_PER_REQUEST: no ProvisionedThroughput on the indexes either.
    expect(indexes.filter((index) => index.ProvisionedThroughput !== undefined)).toEqual([]);
    expect(resource(prod.template, 'LedgerTable').Properties.GlobalSecondaryIndexes).toEqual(indexes);
  });
});

describe('stage differences', () => {
  test('the ledger has deletion protection and is retained on prod only', () => {
    const prodTable = resource(prod.template, 'LedgerTable');
    expect(prodTable.Properties.DeletionProtectionEnabled).toBe(true);
    expect(prodTable.DeletionPolicy).toBe('Retain');
    const devTable = resource(dev.template, 'LedgerTable');
    expect(devTable.Properties.DeletionProtectionEnabled ?? false).toBe(false);
    expect(devTable.DeletionPolicy).toBe('Delete');
  });

  test('landingEncryption=SSE-KMS creates a key, encrypts the bucket with it and lets the functions use it', () => {
    expect(kms.template.Conditions?.LandingUsesKms).toEqual({ 'Fn::Equals': ['SSE-KMS', 'SSE-KMS'] });
    expect(dev.template.Conditions?.LandingUsesKms).toEqual({ 'Fn::Equals': ['SSE-S3', 'SSE-KMS'] });
    const bucket = resource(kms.template, 'LandingBucket').Properties;
    const sse = bucket.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(sse.ServerSideEncryptionByDefault['Fn::If'][1]).toEqual({
      SSEAlgorithm: 'aws:kms',
      KMSMasterKeyID: { 'Fn::GetAtt': ['LandingKey', 'Arn'] },
    });
    expect(resource(kms.template, 'LandingKey').Properties.EnableKeyRotation).toBe(true);
    for (const role of ['IngestFileRole', 'SftpPullRole', 'ReplayRole', 'OperatorApiRole']) {
      expect(roleStatements(resource(kms.template, role))).toContainEqual(
        expect.objectContaining({
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': ['LandingKey', 'Arn'] },
        }),
      );
    }
  });
});

describe('event archive', () => {
  test('archives every partner-ingest event of the bus, for the stage\'s eventArchiveRetentionDays', () => {
    const archives = resourcesOfType(dev.template, 'AWS::Events::Archive');
    expect(archives.map(([logicalId]) => logicalId)).toEqual(['EventArchive']);
    expect(resource(dev.template, 'EventArchive').Properties).toEqual({
      ArchiveName: 'partner-ingest-dev',
      Description: expect.any(String),
      SourceArn: { 'Fn::GetAtt': ['EventBus', 'Arn'] },
      // The source every event of the code carries (src/completion/completion-event.ts).
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 14,
    });
    expect(resource(prod.template, 'EventArchive').Properties).toMatchObject({ ArchiveName: 'partner-ingest-prod', RetentionDays: 90 });
    expect(dev.template.Outputs?.EventArchiveArn?.Value).toEqual({ 'Fn::GetAtt': ['EventArchive', 'Arn'] });
  });
});
