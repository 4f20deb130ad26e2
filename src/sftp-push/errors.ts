import { PartnerIngestError } from '../platform/errors';

export type SftpPushErrorCode = 'SFTP_PUSH_EVENT_INVALID' | 'SFTP_PUSH_PATH_FOREIGN';

/** An event that is not a Transfer Family upload report this hand-off can act on. */
export class PushEventInvalidError extends PartnerIngestError<SftpPushErrorCode> {
  constructor(reason: string) {
    super('SFTP_PUSH_EVENT_INVALID', `not a Transfer Family upload event: ${reason}`);
  }
}

/**
 * An upload reported outside the uploading user's own folder, or by a user who
 * is no push partner. The users' home mappings and roles make this impossible;
 * refusing it here keeps one misconfiguration from handing a file to the wrong
 * partner.
 */
export class PushPathForeignError extends PartnerIngestError<SftpPushErrorCode> {
  constructor(user: string, path: string, reason: string) {
    super('SFTP_PUSH_PATH_FOREIGN', `upload ${path} by ${user}: ${reason}; not handed off`);
  }
}
