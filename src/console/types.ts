import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { OperatorDeps } from '../operations/deps';
import type { RemoteFileLedger } from '../sftp/remote-file-ledger';

/** What the console's API calls, all with the operator's own credentials (src/console/connect.ts builds it). */
export interface ConsoleApiDeps {
  readonly operator: OperatorDeps;
  /** Alarms and queue ages for the overview. */
  readonly cloudWatch: CloudWatchClient;
  /** SFTP partners' pull status, as sftpPull records it. */
  readonly pulls: Pick<RemoteFileLedger, 'pullStatus'>;
  /** The operator's own identity (STS GetCallerIdentity), recorded as the actor of every action. */
  readonly actor: string;
  readonly stage: string;
  readonly region: string;
}
