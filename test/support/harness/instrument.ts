/**
 * Makes the emulator's clients as strict as AWS on what matters: one SDK
 * middleware on each client refuses calls that break a service limit (as AWS
 * would, before the emulator sees them), makes conditional writes atomic, and
 * records every call made inside a function's invocation for the IAM check
 * (iam-check.ts).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../../src/platform/aws-clients';
import { currentFunction } from './function-scope';
import { recordCall } from './iam-check';
import { ACCOUNT, PARTITION } from './packaged-stack';
import { checkServiceLimits, QueueSizeLimits } from './service-limits';

/** `S3Client` → `s3`, `EventBridgeClient` → `eventbridge`. */
const serviceOf = (clientName: string) => clientName.replace(/Client$/, '').toLowerCase();

type Middleware = (next: (args: any) => Promise<any>, context: any) => (args: any) => Promise<any>;

/**
 * DynamoDB applies a conditional write atomically: of two racing writes with the
 * same condition, one fails. moto_server does not (it checks and writes without
 * a lock, so both can "win"). The harness runs conditional writes one at a
 * time, which is what DynamoDB guarantees per item.
 */
let conditionalWrites: Promise<unknown> = Promise.resolve();
function isConditionalWrite(service: string, operation: string, input: Record<string, any>): boolean {
  return service === 'dynamodb' && (operation === 'TransactWriteItems' || (/^(Put|Update|Delete)Item$/.test(operation) && Boolean(input.ConditionExpression)));
}
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = conditionalWrites.then(work, work);
  conditionalWrites = run.catch(() => undefined);
  return run;
}

function harnessMiddleware(region: () => Promise<string>, queues: QueueSizeLimits): Middleware {
  return (next, context) => async (args) => {
    const service = serviceOf(String(context.clientName));
    const operation = String(context.commandName).replace(/Command$/, '');
    const fn = currentFunction();
    const record = async (extra: { output?: any; errorStatus?: number }) => {
      if (fn) recordCall({ function: fn, service, operation, input: args.input, region: await region(), account: ACCOUNT, partition: PARTITION, ...extra });
    };
    try {
      await checkServiceLimits(service, operation, args.input, queues);
    } catch (error) {
      await record({ errorStatus: 400 });
      throw error;
    }
    let result;
    try {
      result = await (isConditionalWrite(service, operation, args.input) ? oneAtATime(() => next(args)) : next(args));
    } catch (error) {
      await record({ errorStatus: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0 });
      throw error;
    }
    await record({ output: result.output });
    return result;
  };
}

/** Installs the harness on every client of a stack talking to `endpoint` (moto_server); returns its clean-up. */
export function instrumentClients(clients: AwsClients, endpoint: string): () => void {
  const regionOf = (client: { config: { region: unknown } }) => async () => {
    const region = client.config.region;
    return typeof region === 'function' ? String(await region()) : String(region);
  };
  // The queues' size limits are read with a client of the harness's own, so those reads are nobody's calls.
  const harnessSqs = new SQSClient({ endpoint, region: process.env.AWS_REGION ?? 'eu-west-1' });
  const queues = new QueueSizeLimits(harnessSqs);
  for (const client of Object.values(clients) as { config: { region: unknown }; middlewareStack: { add: (m: Middleware, o: object) => void } }[]) {
    client.middlewareStack.add(harnessMiddleware(regionOf(client), queues), { step: 'build', name: 'partnerIngestHarness', priority: 'high' });
  }
  return () => harnessSqs.destroy();
}
