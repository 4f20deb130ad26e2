import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { PartnerRegistry } from '../config/load-partners';
import { clientSettings } from '../platform/aws-client-settings';
import { RemoteFileLedger } from '../sftp/remote-file-ledger';
import { operatorDeps } from '../operations/deps';
import type { StageConnection } from '../operations/stage';
import type { ConsoleApiDeps } from './api';

/** What the console's API needs, from a stage connected with the operator's own credentials (as the CLI connects); `endpoint` as the connection's. */
export function consoleApiDeps(connection: StageConnection, registry: PartnerRegistry, endpoint?: string): ConsoleApiDeps {
  return {
    operator: operatorDeps(connection.clients, connection.resources, registry),
    pulls: new RemoteFileLedger(connection.clients.dynamo, connection.resources.ledgerTable),
    cloudWatch: new CloudWatchClient(clientSettings({ region: connection.region, ...(endpoint ? { endpoint } : {}) }).common),
    actor: connection.actor,
    stage: connection.stage,
    region: connection.region,
  };
}
