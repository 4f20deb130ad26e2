'use strict';
/** What scripts/serverless-partners.js and scripts/serverless-sftp-push.js both generate per partner. */

/** `acme` -> `Acme`, `big-co` -> `BigCo`: the partner's part of a CloudFormation logical id. */
function pascalCase(id) {
  return id
    .split('-')
    .filter((part) => part !== '')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/**
 * An alarm on a count one partner's runs emit (dimensions `service` and
 * `partner`): in alarm when any 5-minute period counts one, notifying the
 * alarm topic when it fires and when it recovers.
 */
function partnerCountAlarm({ stage, metrics, partnerId, name, description, metricName, treatMissingData }) {
  const topic = [{ Ref: 'AlarmTopic' }];
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${stage}-partner-ingest-${name}-${partnerId}`,
      AlarmDescription: description,
      Namespace: metrics.namespace,
      MetricName: metricName,
      Dimensions: [
        { Name: 'service', Value: metrics.service },
        { Name: 'partner', Value: partnerId },
      ],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: treatMissingData,
      AlarmActions: topic,
      OKActions: topic,
    },
  };
}

module.exports = { pascalCase, partnerCountAlarm };
