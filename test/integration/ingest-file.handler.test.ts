import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { awsClients } from '../../src/platform/aws-clients';
import { resourceEnvironment } from '../../src/platform/stage-resources';
import { instrumentClients } from '../support/harness/instrument';
import { invoke } from '../support/harness/invoke';
import { drainQueue, putInbound, receivedEvents, startTestStack, type TestStack } from '../support/stack';
import { ordersFile } from '../support/orders';

let stack: TestStack;
let uninstrument: (() => void) | undefined;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  uninstrument?.();
  await stack?.stop();
});

// The deployed entry point, wired only through the environment serverless.yml sets.
test('the Lambda handler builds its dependencies from the environment and ingests a file', async () => {
  const { resources } = stack;
  Object.assign(process.env, { AWS_ENDPOINT_URL: stack.moto.endpoint, ...resourceEnvironment(resources), MAX_RECEIVE_COUNT: String(resources.maxReceiveCount) });
  const { handler } = await import('../../functions/ingest-file');
  // The handler's own clients (built from the environment), held to AWS's rules like the test stack's.
  uninstrument = instrumentClients(awsClients(), stack.moto.endpoint);

  await putInbound(stack, 'inbound/acme/orders_handler.csv', ordersFile(7));
  const { Messages = [] } = await stack.clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: resources.fileEventsQueueUrl, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
  );
  expect(Messages).toHaveLength(1);
  const event: SQSEvent = {
    Records: Messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body!,
      attributes: {
        ApproximateReceiveCount: message.Attributes!.ApproximateReceiveCount!,
        SentTimestamp: message.Attributes!.SentTimestamp!,
        SenderId: 'AROA',
        ApproximateFirstReceiveTimestamp: message.Attributes!.ApproximateFirstReceiveTimestamp!,
      },
      messageAttributes: {},
      md5OfBody: message.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:partner-ingest-test-file-events',
      awsRegion: 'eu-west-1',
    })),
  };
  const response = await invoke('ingestFile', (context) => handler(event, context));
  expect(response).toEqual({ batchItemFailures: [] });
  expect(await drainQueue(stack, resources.workQueueUrl)).toHaveLength(7);
  const { sns } = await receivedEvents(stack);
  expect(sns.map((delivery) => delivery.detail.status)).toEqual(['COMPLETED']);
});
