import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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

export interface ClientOptions {
  readonly region?: string;
  /** A local emulator such as moto_server; defaults to AWS_ENDPOINT_URL, which the SDK also honours. */
  readonly endpoint?: string;
}

/** Creates the clients. Against an emulator, S3 uses path-style addressing (no bucket DNS names). */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const common = { region: options.region ?? process.env.AWS_REGION, ...(endpoint ? { endpoint } : {}) };
  return {
    s3: new S3Client({ ...common, forcePathStyle: Boolean(endpoint) }),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
    eventBridge: new EventBridgeClient(common),
    secrets: new SecretsManagerClient(common),
    sts: new STSClient(common),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), {
      marshallOptions: { removeUndefinedValues: true },
    }),
  };
}

let shared: AwsClients | undefined;

/** The process-wide clients (one set per Lambda container). */
export function awsClients(): AwsClients {
  shared ??= createAwsClients();
  return shared;
}
