import { PartnerIngestError } from '../platform/errors';

/** A partner file or record schema that cannot be used. The message names file, field and reason. */
export class ConfigError extends PartnerIngestError<'CONFIG_INVALID'> {
  constructor(
    readonly file: string,
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', `${file}: ${field || '(root)'}: ${reason}`, options);
  }
}
