import type { PartnerRegistry } from '../config/load-partners';
import { operatorDeps } from '../operations/deps';
import type { StageConnection } from '../operations/stage';
import type { ConsoleApiDeps } from './api';

/** What the console's API needs, from a stage connected with the operator's own credentials (as the CLI connects). */
export function consoleApiDeps(connection: StageConnection, registry: PartnerRegistry): ConsoleApiDeps {
  return {
    operator: operatorDeps(connection.clients, connection.resources, registry),
    actor: connection.actor,
    stage: connection.stage,
    region: connection.region,
  };
}
