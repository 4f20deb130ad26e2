import type { AwsClients } from '../platform/aws-clients';
import type { PartnerRegistry } from '../config/load-partners';
import { Ledger } from '../ledger/batches';
import type { StackResources } from '../platform/stage-resources';
import type { StageRedriveRequest } from './redrive';
import type { ReplayDeps } from './replay';

/**
 * What operator actions need (API, replay function, CLI): the ledger, the
 * archive (dry runs), and the queues — a replay is handed to ingestFile, never
 * run here, so nothing that sends work items or publishes events is needed.
 */
export interface OperatorDeps extends ReplayDeps {
  readonly resources: StageRedriveRequest['resources'];
}

export type OperatorResources = StageRedriveRequest['resources'] & Pick<StackResources, 'ledgerTable'>;

export function operatorDeps(clients: Pick<AwsClients, 's3' | 'sqs' | 'dynamo'>, resources: OperatorResources, registry: PartnerRegistry): OperatorDeps {
  return {
    s3: clients.s3,
    sqs: clients.sqs,
    ledger: new Ledger(clients.dynamo, resources.ledgerTable),
    registry,
    fileEventsQueueUrl: resources.fileEventsQueueUrl,
    resources,
  };
}
