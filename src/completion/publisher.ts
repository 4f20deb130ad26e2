import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { EventPublishError } from './errors';
import { backoffDelay, DEFAULT_BACKOFF, withRetries, type BackoffOptions } from '../platform/backoff';
import { DETAIL_TYPE, EVENT_SOURCE, type CompletionEventDetail } from './completion-event';

export interface PublisherTargets {
  readonly topicArn: string;
  readonly busName: string;
}

/** Publishes completion events on SNS (JSON body, filterable attributes) and EventBridge (same detail). */
export class EventPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly eventBridge: EventBridgeClient,
    private readonly targets: PublisherTargets,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  async publishSns(detail: CompletionEventDetail): Promise<void> {
    const attributes: Record<string, { DataType: 'String'; StringValue: string }> = {
      partner: { DataType: 'String', StringValue: detail.partner },
      status: { DataType: 'String', StringValue: detail.status },
      detailType: { DataType: 'String', StringValue: DETAIL_TYPE[detail.status] },
    };
    // SNS attribute values may not be empty: a file of no known feed has no feed attribute.
    if (detail.feed) attributes.feed = { DataType: 'String', StringValue: detail.feed };
    await withRetries(
      () =>
        this.sns.send(
          new PublishCommand({ TopicArn: this.targets.topicArn, Message: JSON.stringify(detail), MessageAttributes: attributes }),
        ),
      this.backoff,
    );
  }

  /** An event for operators to alert on (e.g. `SFTP Host Key Mismatch`), on the EventBridge bus. */
  async publishAlert(detailType: string, detail: Record<string, unknown>): Promise<void> {
    await this.putEvent(detailType, detail, `${detailType} alert`);
  }

  /** PutEvents can fail per entry inside a successful response: retry until the entry is accepted. */
  async publishEventBridge(detail: CompletionEventDetail): Promise<void> {
    await this.putEvent(DETAIL_TYPE[detail.status], detail, `${DETAIL_TYPE[detail.status]} event of batch ${detail.batchId}`);
  }

  private async putEvent(detailType: string, detail: object, what: string): Promise<void> {
    const entry = { EventBusName: this.targets.busName, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) };
    for (let attempt = 1; ; attempt++) {
      const response = await withRetries(() => this.eventBridge.send(new PutEventsCommand({ Entries: [entry] })), this.backoff);
      if (!response.FailedEntryCount) return;
      const failure = response.Entries?.[0];
      if (attempt >= this.backoff.attempts) {
        throw new EventPublishError(
          `EventBridge refused the ${what}: ${failure?.ErrorCode ?? 'unknown'} ${failure?.ErrorMessage ?? ''}`.trim(),
        );
      }
      await backoffDelay(attempt, this.backoff);
    }
  }
}
