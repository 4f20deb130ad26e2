import type { FeedConfig } from '../config/types';
import type { FeedSequences, SequenceJudgement } from '../ledger/feed-sequences';
import { RejectionCode, type BatchReason } from '../validate/errors';
import type { SequenceGate } from '../validate/validate-file';

/** The rejection for a file out of order, with the number it has and the one expected. */
export function sequenceReason(judgement: SequenceJudgement, sequence: string): BatchReason | undefined {
  if (judgement.outcome === 'next') return undefined;
  const after = judgement.last === undefined ? "as the feed's first file (sequence.first)" : `after ${judgement.last}, the last file accepted`;
  return judgement.outcome === 'gap'
    ? { code: RejectionCode.SEQUENCE_GAP, message: `the file's sequence number is ${sequence}; ${judgement.expected} is expected ${after}, so a file is missing` }
    : { code: RejectionCode.SEQUENCE_REPEAT, message: `the file's sequence number is ${sequence}; ${judgement.expected} is expected ${after}: the file was sent before, or is out of order` };
}

/** The validation pass's sequence gate for one batch of `feed`, over the ledger's feed sequences. */
export function sequenceGate(sequences: FeedSequences, feed: FeedConfig, batchId: string): SequenceGate {
  return {
    async claim(sequence) {
      const judgement = await sequences.claim(feed.partnerId, feed.id, batchId, sequence, feed.sequence?.first);
      return sequenceReason(judgement, sequence);
    },
  };
}
