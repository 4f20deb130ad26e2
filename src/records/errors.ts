import { PartnerIngestError } from '../platform/errors';

/** Thrown by `compileRecordSchema` with the JSON path of the offending part. */
export class RecordSchemaError extends PartnerIngestError<'RECORD_SCHEMA_INVALID'> {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('RECORD_SCHEMA_INVALID', message);
  }
}
