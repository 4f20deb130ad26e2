import { PartnerIngestError } from '../platform/errors';

export type LandingErrorCode = 'SOURCE_UNAVAILABLE' | 'RANGE_NOT_HONOURED';

/** The announced object can no longer be read (deleted or replaced before we archived it). */
export class SourceUnavailableError extends PartnerIngestError<LandingErrorCode> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SOURCE_UNAVAILABLE', message, options);
  }
}

/** A ranged GET answered with other bytes than asked for: reading on would hash and parse the wrong part. */
export class RangeNotHonouredError extends PartnerIngestError<LandingErrorCode> {
  constructor(uri: string, fromByte: number, contentRange: string | undefined) {
    super('RANGE_NOT_HONOURED', `${uri}: asked for bytes ${fromByte}- and got ${contentRange ?? 'the whole object'}`);
  }
}
