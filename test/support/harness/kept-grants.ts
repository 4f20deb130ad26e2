/**
 * Grants of the functions' roles that stay although no call of the tests uses
 * them, each with its reason (resources/iam.yml says the same beside the
 * statement). Keyed `<role>/<statement Sid>/<action>`.
 */
const LAMBDA_LOGS = "Lambda's runtime writes the function's own log group with its role; no call of the code does";
const EVENT_SOURCE_MAPPING =
  "Lambda's SQS event source mapping reads the queue's attributes with the function's role (AWS requires ReceiveMessage, DeleteMessage and GetQueueAttributes); the tests' pump does not";
const ABORTED_UPLOAD = 'lib-storage aborts a multipart upload of staged rows or of a rejects report that failed, so no parts are left: only a fault reaches it';

export const KEPT_GRANTS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    ['IngestFileRole', 'SendRangeRole', 'SftpPullRole', 'SftpPushHandoffRole', 'ReplayRole', 'OperatorApiRole', 'CheckExpectationsRole'].flatMap((role) => [
      [`${role}/OwnLogGroup/logs:CreateLogStream`, LAMBDA_LOGS],
      [`${role}/OwnLogGroup/logs:PutLogEvents`, LAMBDA_LOGS],
    ]),
  ),
  'IngestFileRole/ConsumeFileEvents/sqs:GetQueueAttributes': EVENT_SOURCE_MAPPING,
  'SendRangeRole/ConsumeSendRanges/sqs:GetQueueAttributes': EVENT_SOURCE_MAPPING,
  'IngestFileRole/WriteStagingRejects/s3:AbortMultipartUpload': ABORTED_UPLOAD,
  // Used (a faulted part under pushed/, sftp-push-handoff.test.ts); the same statement's quarantine/ resource is
  // reached only by a failed multipart copy of a partial upload beyond the threshold, which no test faults.
  'SftpPushHandoffRole/DeadLetterFailedHandoffs/sqs:SendMessage':
    "Lambda sends an upload event that failed every hand-off attempt to the function's on-failure destination with its role; no call of the code does",
  'SftpPushHandoffRole/HandOff/s3:AbortMultipartUpload':
    'the push hand-off aborts a failed multipart copy into quarantine/ as it does into pushed/ (tested there); only a fault on a partial upload beyond the threshold reaches it',
};
