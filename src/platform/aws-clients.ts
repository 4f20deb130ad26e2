import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientSettings, type ClientOptions } from './aws-client-settings';

export type { ClientOptions } from './aws-client-settings';

/** The AWS clients the service uses, created once per cold start and injected everywhere else. */
export interface AwsClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly eventBridge: EventBridgeClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly secrets: SecretsManagerClient;
  readonly sts: STSClient;
}

/** Creates the clients (settings: aws-client-settings.ts). */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  const { common, s3, documentClient } = clientSettings(options);
  return {
    s3: new S3Client(s3),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
    eventBridge: new EventBridgeClient(common),
    secrets: new SecretsManagerClient(common),
    sts: new STSClient(common),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), documentClient),
  };
}

let shared: AwsClients | undefined;

/** The process-wide clients (one set per Lambda container). */
export function awsClients(): AwsClients {
  shared ??= createAwsClients();
  return shared;
}
