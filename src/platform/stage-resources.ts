/** The names and addresses of one stage's resources. */
export interface StackResources {
  readonly landingBucket: string;
  readonly fileEventsQueueUrl: string;
  readonly fileEventsDlqUrl: string;
  readonly workQueueUrl: string;
  readonly workDlqUrl: string;
  readonly sendRangesQueueUrl: string;
  readonly sendRangesDlqUrl: string;
  readonly ledgerTable: string;
  readonly eventsTopicArn: string;
  readonly eventBusName: string;
  readonly maxReceiveCount: number;
}

/**
 * The resource settings serverless.yml gives the functions (custom.resourceSettings),
 * for a stack's resources: what `sls offline` with `resourceSettings=environment`
 * reads, and what the handlers read at cold start.
 */
export function resourceEnvironment(resources: StackResources): Record<string, string> {
  return {
    LANDING_BUCKET: resources.landingBucket,
    WORK_QUEUE_URL: resources.workQueueUrl,
    WORK_DLQ_URL: resources.workDlqUrl,
    FILE_EVENTS_QUEUE_URL: resources.fileEventsQueueUrl,
    FILE_EVENTS_DLQ_URL: resources.fileEventsDlqUrl,
    SEND_RANGES_QUEUE_URL: resources.sendRangesQueueUrl,
    SEND_RANGES_DLQ_URL: resources.sendRangesDlqUrl,
    LEDGER_TABLE: resources.ledgerTable,
    EVENTS_TOPIC_ARN: resources.eventsTopicArn,
    EVENT_BUS_NAME: resources.eventBusName,
  };
}
