import { type MessageAttributes, type StagedRecord, type WorkItemEnvelopes } from './envelopes';

/** One work queue message, ready to send. */
export interface OutgoingMessage {
  readonly body: string;
  /** Body plus attributes, as SQS counts a message's size. */
  readonly bytes: number;
  readonly attributes: MessageAttributes;
}

/**
 * Turns one chunk's staged records into messages. Deterministic: the messages
 * depend only on the chunk, the batch's envelope fields and
 * `recordsPerMessage`. A run of records is cut when it holds
 * `recordsPerMessage` records or the next record would take the pack (with its
 * attributes) over the feed's message cap; a run of one record goes out as its item
 * envelope — which the validation pass proved fits.
 */
export class MessageShapes {
  private readonly packLimit: number;

  constructor(
    private readonly envelopes: WorkItemEnvelopes,
    private readonly recordsPerMessage: number,
  ) {
    this.packLimit = envelopes.maxMessageBytes - envelopes.packAttributesBytes;
  }

  messagesOf(records: readonly StagedRecord[]): OutgoingMessage[] {
    if (this.recordsPerMessage === 1) return records.map((staged) => this.item(staged));
    const { envelopes } = this;
    const messages: OutgoingMessage[] = [];
    let run: StagedRecord[] = [];
    let runEntryBytes = 0;
    const close = () => {
      if (run.length === 1) messages.push(this.item(run[0]!));
      else if (run.length > 1) {
        const body = envelopes.pack(run);
        const bytes = envelopes.packBytes(run[0]!.recordNumber, run[run.length - 1]!.recordNumber, run.length, runEntryBytes);
        messages.push({ body, bytes: bytes + envelopes.packAttributesBytes, attributes: envelopes.packAttributes });
      }
      run = [];
      runEntryBytes = 0;
    };
    for (const staged of records) {
      const entryBytes = envelopes.entryBytes(staged);
      if (
        run.length === this.recordsPerMessage ||
        (run.length && envelopes.packBytes(run[0]!.recordNumber, staged.recordNumber, run.length + 1, runEntryBytes + entryBytes) > this.packLimit)
      ) {
        close();
      }
      run.push(staged);
      runEntryBytes += entryBytes;
    }
    close();
    return messages;
  }

  private item(staged: StagedRecord): OutgoingMessage {
    const { envelopes } = this;
    return { body: envelopes.item(staged), bytes: envelopes.itemBodyBytes(staged) + envelopes.itemAttributesBytes, attributes: envelopes.itemAttributes };
  }
}
