// The SFTP push endpoint's CloudFormation, generated from partners/*.yml by
// scripts/serverless-partners.js: an AWS Transfer Family server and one user per
// partner with `sources.sftpPush`, or nothing at all when no partner pushes.
//
// Plain CommonJS, like serverless-partners.js, because osls `require`s it.
'use strict';

const { partnerCountAlarm, pascalCase } = require('./partner-resources');
const { deadLetterResources, handoffTarget, sweepResources } = require('./sftp-push-delivery');

/**
 * Where a push partner's uploads land, as Transfer Family writes them: not a
 * prefix the landing bucket notifies, so a partial upload (a client that
 * disconnected mid-transfer leaves one) is never ingested. Keep in step with
 * src/landing/layout.ts (PUSH_UPLOADS_PREFIX).
 */
const PUSH_UPLOADS_PREFIX = 'pushed-uploads/';

/**
 * A current Transfer Family security policy for SFTP (ciphers, MACs, key
 * exchanges and host key algorithms without SHA-1 or CBC). Named here, not left
 * to the server's default, which is an older policy kept for compatibility.
 */
const SECURITY_POLICY = 'TransferSecurityPolicy-2024-01';

/** Logical ids of a push partner's Transfer user, the role it acts with, and its failed-upload alarm. */
function pushLogicalIds(id) {
  return { user: `SftpPush${pascalCase(id)}User`, role: `SftpPush${pascalCase(id)}Role`, alarm: `SftpPush${pascalCase(id)}UploadFailedAlarm` };
}

/**
 * Transfer Family's reports of an upload's end (source aws.transfer, on the
 * account's default bus; https://docs.aws.amazon.com/transfer/latest/userguide/eventbridge.html).
 * Keep in step with src/sftp-push/upload-event.ts.
 */
const UPLOAD_EVENTS = ['SFTP Server File Upload Completed', 'SFTP Server File Upload Failed'];

/** A stage param given as a YAML list or, on the command line, as comma-separated text. */
function listParam(value) {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value.map(String).filter((item) => item !== '');
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/;

/**
 * The endpoint's stage params, checked: PUBLIC (no allow-list possible: a public
 * endpoint takes no security group) or VPC (subnets of a VPC, optionally with
 * Elastic IPs to face the internet, and a security group admitting port 22 from
 * `sftpPushAllowedCidrs` only). Throws an Error naming the param and the reason.
 */
function endpointSettings(params) {
  const type = params.endpointType;
  if (type !== 'PUBLIC' && type !== 'VPC') throw new Error(`param sftpPushEndpointType: "${type}" is not PUBLIC or VPC`);
  const subnetIds = listParam(params.subnetIds);
  const addressAllocationIds = listParam(params.addressAllocationIds);
  const allowedCidrs = listParam(params.allowedCidrs);
  for (const cidr of allowedCidrs) {
    const match = CIDR.exec(cidr);
    if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255)) {
      throw new Error(`param sftpPushAllowedCidrs: "${cidr}" is not an IPv4 CIDR block (a.b.c.d/n)`);
    }
  }
  if (type === 'PUBLIC') {
    if (allowedCidrs.length > 0) {
      throw new Error('param sftpPushAllowedCidrs: an IP allow-list needs sftpPushEndpointType VPC (a PUBLIC endpoint takes no security group)');
    }
    return { type, subnetIds: [], addressAllocationIds: [], allowedCidrs, vpcId: '' };
  }
  if (!params.vpcId) throw new Error('param sftpPushVpcId: required when sftpPushEndpointType is VPC');
  if (subnetIds.length === 0) throw new Error('param sftpPushSubnetIds: required when sftpPushEndpointType is VPC');
  if (addressAllocationIds.length > 0 && addressAllocationIds.length !== subnetIds.length) {
    throw new Error('param sftpPushAddressAllocationIds: one Elastic IP allocation per subnet, or none (an endpoint inside the VPC only)');
  }
  if (allowedCidrs.length === 0) {
    throw new Error('param sftpPushAllowedCidrs: a VPC endpoint admits only the listed CIDR blocks; list at least one');
  }
  return { type, vpcId: params.vpcId, subnetIds, addressAllocationIds, allowedCidrs };
}

/** The statement granting the landing key (SSE-KMS only); AWS::NoValue otherwise. */
const LANDING_KEY_STATEMENT = {
  'Fn::If': [
    'LandingUsesKms',
    { Sid: 'LandingKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': ['LandingKey', 'Arn'] } },
    { Ref: 'AWS::NoValue' },
  ],
};

/** A trust policy for Transfer Family acting in this account (the confused-deputy guard), and for `condition` if given. */
function assumedByTransfer(condition = {}) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'transfer.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ...condition },
      },
    ],
  };
}

/**
 * The role Transfer Family acts with for one partner's session: its own upload
 * folder and nothing else. Put (uploads), Get and Delete (Transfer Family's
 * rename, which `.filepart` clients do at the end, is a copy and a delete; an
 * overwrite or a resumed stat reads), and a listing limited by `s3:prefix` to
 * that folder. Trusted by transfer.amazonaws.com acting for this partner's user on
 * this server only (aws:SourceAccount and aws:SourceArn: the confused-deputy
 * guard AWS advises).
 */
function partnerRole(service, stage, partnerId) {
  const userArn = { 'Fn::Sub': `arn:\${AWS::Partition}:transfer:\${AWS::Region}:\${AWS::AccountId}:user/\${SftpPushServer.ServerId}/${partnerId}` };
  const folder = `${PUSH_UPLOADS_PREFIX}${partnerId}/`;
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `${service} ${stage}: SFTP push user ${partnerId}, its own folder ${folder} of the landing bucket only`,
      AssumeRolePolicyDocument: assumedByTransfer({ ArnEquals: { 'aws:SourceArn': userArn } }),
      Policies: [
        {
          PolicyName: `sftp-push-${partnerId}`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'ListOwnFolder',
                Effect: 'Allow',
                Action: 's3:ListBucket',
                Resource: { 'Fn::GetAtt': ['LandingBucket', 'Arn'] },
                Condition: { StringLike: { 's3:prefix': [folder, `${folder}*`] } },
              },
              {
                Sid: 'ReadWriteOwnFolder',
                Effect: 'Allow',
                Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
                Resource: { 'Fn::Sub': `\${LandingBucket.Arn}/${folder}*` },
              },
              LANDING_KEY_STATEMENT,
            ],
          },
        },
      ],
    },
  };
}

/**
 * The endpoint: `{ Resources, Outputs }`, both empty without push partners (no
 * server costs money idle). With them: the Transfer Family server (SFTP only,
 * service-managed users, S3, the security policy above, structured logs to its
 * own log group), its logging role, for a VPC endpoint a security group
 * admitting port 22 from the allow-list only, and per partner a user whose
 * logical home `/` is its own upload folder (it cannot name any other path) with
 * its public keys and its role.
 */
function sftpPushEndpoint({ service, stage, logRetentionDays, params, metrics }, pushPartners, logicalIdsOf) {
  if (pushPartners.length === 0) return { Resources: {}, Outputs: {} };
  const endpoint = endpointSettings(params);
  logicalIdsOf(pushPartners, (id) => pushLogicalIds(id).user); // throws if two partners would share a user
  const Resources = {
    SftpPushLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: `/aws/transfer/${service}-${stage}`, RetentionInDays: logRetentionDays },
    },
    // What AWSTransferLoggingAccess grants, on the server's own log group only.
    SftpPushLoggingRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `${service} ${stage}: the SFTP push server writes its structured logs`,
        AssumeRolePolicyDocument: assumedByTransfer(),
        Policies: [
          {
            PolicyName: 'sftp-push-logs',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
                  Resource: [{ 'Fn::GetAtt': ['SftpPushLogGroup', 'Arn'] }, { 'Fn::Sub': '${SftpPushLogGroup.Arn}:log-stream:*' }],
                },
              ],
            },
          },
        ],
      },
    },
    SftpPushServer: {
      Type: 'AWS::Transfer::Server',
      Properties: {
        Protocols: ['SFTP'],
        IdentityProviderType: 'SERVICE_MANAGED',
        Domain: 'S3',
        EndpointType: endpoint.type,
        ...(endpoint.type === 'VPC'
          ? {
              EndpointDetails: {
                VpcId: endpoint.vpcId,
                SubnetIds: endpoint.subnetIds,
                SecurityGroupIds: [{ Ref: 'SftpPushSecurityGroup' }],
                ...(endpoint.addressAllocationIds.length > 0 ? { AddressAllocationIds: endpoint.addressAllocationIds } : {}),
              },
            }
          : {}),
        SecurityPolicyName: SECURITY_POLICY,
        LoggingRole: { 'Fn::GetAtt': ['SftpPushLoggingRole', 'Arn'] },
        StructuredLogDestinations: [{ 'Fn::GetAtt': ['SftpPushLogGroup', 'Arn'] }],
        Tags: [{ Key: 'Name', Value: `${service}-${stage}-sftp-push` }],
      },
    },
  };
  // This server's upload reports -> sftpPushHandoff (asynchronous; what fails every attempt is dead-lettered: sftp-push-delivery.js).
  Resources.SftpPushUploadEventsRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: `${service} ${stage}: SFTP push uploads completed or failed -> sftpPushHandoff`,
      EventPattern: {
        source: ['aws.transfer'],
        'detail-type': UPLOAD_EVENTS,
        detail: { 'server-id': [{ 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] }] },
      },
      State: 'ENABLED',
      Targets: [handoffTarget()],
    },
  };
  Resources.SftpPushHandoffInvokedByRule = {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['SftpPushUploadEventsRule', 'Arn'] },
    },
  };
  Object.assign(Resources, deadLetterResources({ service, stage }), sweepResources({ service, stage, metrics, pushedUploadsRetentionDays: params.pushedUploadsRetentionDays }, pushPartners));
  if (endpoint.type === 'VPC') {
    Resources.SftpPushSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: `${service} ${stage}: SFTP push endpoint, port 22 from the partner allow-list only`,
        VpcId: endpoint.vpcId,
        SecurityGroupIngress: endpoint.allowedCidrs.map((cidr) => ({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: cidr, Description: 'partner allow-list' })),
      },
    };
  }
  for (const partner of pushPartners) {
    const { user, role, alarm } = pushLogicalIds(partner.id);
    // A failed (partial) upload is quarantined and counted; one is worth a look (the partner may not know).
    Resources[alarm] = partnerCountAlarm({
      stage,
      metrics,
      partnerId: partner.id,
      name: 'sftp-push-upload-failed',
      description:
        `An SFTP upload by partner ${partner.id} did not complete; what it left is in quarantine/${partner.id}/ and was not ingested. ` +
        "See sftpPushHandoff's log group.",
      metricName: 'SftpPushUploadFailed',
      treatMissingData: 'notBreaching',
    });
    Resources[role] = partnerRole(service, stage, partner.id);
    Resources[user] = {
      Type: 'AWS::Transfer::User',
      Properties: {
        ServerId: { 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] },
        UserName: partner.id,
        Role: { 'Fn::GetAtt': [role, 'Arn'] },
        HomeDirectoryType: 'LOGICAL',
        HomeDirectoryMappings: [{ Entry: '/', Target: { 'Fn::Sub': `/\${LandingBucket}/${PUSH_UPLOADS_PREFIX}${partner.id}` } }],
        SshPublicKeys: [...partner.sources.sftpPush.publicKeys],
      },
    };
  }
  const Outputs = {
    SftpPushServerId: { Description: 'The SFTP push endpoint (Transfer Family server id)', Value: { 'Fn::GetAtt': ['SftpPushServer', 'ServerId'] } },
    SftpPushHost: {
      Description: 'Host name push partners connect to (PUBLIC endpoint; a VPC endpoint is reached at its Elastic IPs or VPC endpoint)',
      Value: { 'Fn::Sub': '${SftpPushServer.ServerId}.server.transfer.${AWS::Region}.${AWS::URLSuffix}' },
    },
  };
  return { Resources, Outputs };
}

module.exports = { sftpPushEndpoint, pushLogicalIds, endpointSettings, PUSH_UPLOADS_PREFIX, SECURITY_POLICY };
