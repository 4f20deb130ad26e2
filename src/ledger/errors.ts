import { PartnerIngestError } from '../platform/errors';

export type LedgerErrorCode = 'LEASE_LOST' | 'RANGE_LEASE_LOST' | 'LEDGER_MISSING';

/** Another invocation took the batch over (our lease expired); stop without writing anything more. */
export class LeaseLostError extends PartnerIngestError<LedgerErrorCode> {
  constructor(batchId: string) {
    super('LEASE_LOST', `batch ${batchId} is now processed by another invocation`);
  }
}

/** Another invocation took the send range over; stop without sending more. */
export class RangeLeaseLostError extends PartnerIngestError<LedgerErrorCode> {
  constructor(range: { readonly batchId: string; readonly index: number }) {
    super('RANGE_LEASE_LOST', `send range ${range.index} of batch ${range.batchId} is now sent by another invocation`);
  }
}

/** A batch the caller knows of is not in the ledger. */
export class LedgerMissingError extends PartnerIngestError<LedgerErrorCode> {
  constructor(batchId: string) {
    super('LEDGER_MISSING', `batch ${batchId} is not in the ledger`);
  }
}
