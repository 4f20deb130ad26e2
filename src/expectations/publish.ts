import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { EventPublisher } from '../completion/publisher';
import { DEFAULT_BACKOFF, withRetries, type BackoffOptions } from '../platform/backoff';
import { FEED_EVENT_DETAIL_TYPE, type FeedEvent } from './events';

/** Where feed events go: the completion events' SNS topic and EventBridge bus. */
export interface FeedEventChannels {
  publishSns(event: FeedEvent): Promise<void>;
  publishEventBridge(event: FeedEvent): Promise<void>;
}

/** SNS with the attributes subscribers filter on (partner, feed, detailType, type); EventBridge through the event publisher. */
export class FeedEventPublisher implements FeedEventChannels {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
    private readonly eventBridge: Pick<EventPublisher, 'publishAlert'>,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  async publishSns(event: FeedEvent): Promise<void> {
    const attribute = (value: string) => ({ DataType: 'String' as const, StringValue: value });
    await withRetries(
      () =>
        this.sns.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Message: JSON.stringify(event),
            MessageAttributes: {
              partner: attribute(event.partner),
              feed: attribute(event.feed),
              detailType: attribute(FEED_EVENT_DETAIL_TYPE[event.type]),
              type: attribute(event.type),
            },
          }),
        ),
      this.backoff,
    );
  }

  publishEventBridge(event: FeedEvent): Promise<void> {
    return this.eventBridge.publishAlert(FEED_EVENT_DETAIL_TYPE[event.type], event as unknown as Record<string, unknown>);
  }
}
