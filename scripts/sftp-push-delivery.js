// What keeps an SFTP push upload from being lost between Transfer Family's
// event and the hand-off: a dead-letter queue for failed hand-off invocations,
// and the alarm on it. Part of the push endpoint's resources
// (scripts/serverless-sftp-push.js), so it exists only with a push partner.
//
// Plain CommonJS, like serverless-partners.js, because osls `require`s it.
'use strict';

const { partnerCountAlarm, pascalCase } = require('./partner-resources');

/** The queue's name; resources/iam.yml grants sftpPushHandoff's role SendMessage on it by this name. */
const deadLetterQueueName = (service, stage) => `${service}-${stage}-sftp-push-handoff-dlq`;

/**
 * EventBridge invokes sftpPushHandoff asynchronously, and an event can be lost at
 * two places, so both lead to one dead-letter queue (one alarm, one place to look):
 *
 * - EventBridge cannot deliver it (Lambda throttles past the retry policy, a
 *   missing permission, the function being replaced): the rule target's
 *   DeadLetterConfig. EventBridge's own retries only cover the hand-over to
 *   Lambda's internal queue.
 * - The function accepted it and failed (an S3 error, a timeout): Lambda retries
 *   twice, then drops it unless the function has an on-failure destination.
 *   This is the likelier loss, which a target DLQ alone would miss; the
 *   destination's record carries the event and the error.
 *
 * What is dead-lettered is still in pushed-uploads/, so the sweep reports it too
 * (SftpPushUnreported); the operator hands it off with `partner-ingest push-handoff`.
 */
function deadLetterResources({ service, stage }) {
  const queueArn = { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'Arn'] };
  const topic = [{ Ref: 'AlarmTopic' }];
  return {
    SftpPushHandoffDLQ: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: deadLetterQueueName(service, stage),
        // SSE-SQS: EventBridge cannot send to a queue under the AWS-managed KMS key, and needs no key grant for this one.
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1209600, // 14 days, the SQS maximum
      },
    },
    // EventBridge may send here for the upload events rule only (Lambda's destination sends with the function's role).
    SftpPushHandoffDLQPolicy: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: 'SftpPushHandoffDLQ' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'UploadEventsRuleDeadLetters',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queueArn,
              Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['SftpPushUploadEventsRule', 'Arn'] } } },
            },
          ],
        },
      },
    },
    // Lambda's asynchronous invocation settings for the events the rule sends ($LATEST: the rule targets the unqualified ARN).
    SftpPushHandoffInvokeConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'SftpPushHandoffLambdaFunction' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        // Past 6 h a waiting event is dead-lettered rather than handed off late; the sweep reports it meanwhile.
        MaximumEventAgeInSeconds: 21600,
        DestinationConfig: { OnFailure: { Destination: queueArn } },
      },
    },
    SftpPushHandoffDLQNotEmptyAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${stage}-${service}-sftp-push-handoff-dlq-not-empty`,
        AlarmDescription:
          'An SFTP push upload event failed every hand-off attempt (or never reached sftpPushHandoff); the upload is still in pushed-uploads/. ' +
          "(A failed sweep run lands here too.) See the message and sftpPushHandoff's log group, then `partner-ingest push-handoff`.",
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: topic,
        OKActions: topic,
      },
    },
  };
}

/**
 * The upload events rule's target: the hand-off, with EventBridge's retries
 * spelled out (its defaults: 24 h, 185 attempts) and its dead letters sent to
 * the queue above.
 */
function handoffTarget() {
  return {
    Id: 'sftpPushHandoff',
    Arn: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
    RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
    DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['SftpPushHandoffDLQ', 'Arn'] } },
  };
}

/**
 * The sweep (src/sftp-push/sweep.ts): sftpPushHandoff run every 15 minutes by
 * a schedule, reporting uploads older than 30 minutes that nothing handed off,
 * per partner in SftpPushUnreported, with an alarm each. A failed run is
 * retried by Lambda, then dead-lettered like a hand-off; a missed one is
 * covered by the next. `pushedUploadsRetentionDays` must outlast the sweep's
 * window (7 days), or an upload could expire before being reported for long.
 */
const SWEEP_WINDOW_DAYS = 7;

function sweepResources({ service, stage, metrics, pushedUploadsRetentionDays }, pushPartners) {
  if (!(Number(pushedUploadsRetentionDays) > SWEEP_WINDOW_DAYS)) {
    throw new Error(
      `param pushedUploadsRetentionDays: ${pushedUploadsRetentionDays} must be more than the push sweep's ${SWEEP_WINDOW_DAYS}-day window (an unreported upload would expire unseen)`,
    );
  }
  const Resources = {
    SftpPushSweepSchedule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${service} ${stage}: every 15 minutes, sftpPushHandoff reports SFTP push uploads no event handed off`,
        ScheduleExpression: 'rate(15 minutes)',
        State: 'ENABLED',
        Targets: [{ Id: 'sftpPushSweep', Arn: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] } }],
      },
    },
    SftpPushHandoffInvokedBySweep: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['SftpPushHandoffLambdaFunction', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['SftpPushSweepSchedule', 'Arn'] },
      },
    },
  };
  for (const partner of pushPartners) {
    Resources[`SftpPush${pascalCase(partner.id)}UnreportedAlarm`] = partnerCountAlarm({
      stage,
      metrics,
      partnerId: partner.id,
      name: 'sftp-push-unreported',
      description:
        `An SFTP upload by partner ${partner.id} has sat in pushed-uploads/${partner.id}/ for 30 minutes with no hand-off (its event never came, or ` +
        "its hand-off failed); it is not ingested. sftpPushHandoff's log names it; README, \"Receiving files on our SFTP endpoint\", says what to do.",
      metricName: 'SftpPushUnreported',
      // The sweep emits every 15 minutes (0 once clear) into 5-minute periods: a gap keeps the state, so the
      // alarm neither flaps between runs nor clears before a run finds nothing left.
      treatMissingData: 'ignore',
    });
  }
  return Resources;
}

module.exports = { deadLetterResources, deadLetterQueueName, handoffTarget, sweepResources, SWEEP_WINDOW_DAYS };
