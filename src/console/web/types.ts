/** The shapes the console's API answers with (see src/console/api.ts), as far as the page reads them. */
export interface Counts {
  records: number;
  valid: number;
  invalid: number;
  workItemsSent: number;
}
export interface Reason {
  code: string;
  message: string;
}
export interface Batch {
  batchId: string;
  status: string;
  attempt: number;
  partner: string;
  feed: string | null;
  file: { name: string; bytes?: number; sha256?: string };
  source: { uri: string };
  counts?: Counts;
  reason?: Reason;
  receivedAt: string;
  startedAt?: string;
  finishedAt?: string;
  archive?: unknown;
  validation?: { rejects?: unknown };
}
export interface Attempt {
  attempt: number;
  status: string;
  startedAt?: string;
  finishedAt: string;
  counts?: Counts;
  reason?: Reason;
}
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  outcome: string;
}
export interface BatchView {
  batch: Batch;
  attempts: Attempt[];
  audit: AuditEntry[];
  firstErrors: { line: string; column: string; code: string; message: string }[];
  /** The latest attempt's completion event detail, once it has finished. */
  completionEvent: Record<string, unknown> | null;
}
export interface QueueDepth {
  visible: number;
  inFlight: number;
  /** CloudWatch's latest ApproximateAgeOfOldestMessage; null when it has none (an idle queue). */
  oldestAgeSeconds: number | null;
}
export type OrUnavailable<T> = { value: T } | { unavailable: string };
export interface Overview {
  from: string;
  to: string;
  total: number;
  byStatus: Record<string, number>;
  byPartner: Record<string, Record<string, number>>;
  needsAttention: Batch[];
  queues: { queue: string; messages: QueueDepth; deadLetters: QueueDepth }[];
  queueAgesUnavailable?: string;
  alarms: OrUnavailable<{ name: string; reason: string; since: string | null }[]>;
  sftp: { partner: string; status: PullStatus | null }[];
  expectations: OrUnavailable<FeedExpectationView[]>;
}
export interface PullStatus {
  lastPullAt: string;
  lastSuccessAt?: string;
  lastError?: { code: string; message: string; at: string };
  hostKeyMismatches?: number;
  lastHostKeyMismatchAt?: string;
}
export type ReplayResult =
  | { dryRun: true; status: string; reason: Reason | null; counts: { records: number; valid: number; invalid: number }; complete: boolean }
  | { dryRun: false; attempt: number; status: 'QUEUED'; tookOver: boolean };
export interface RedriveResult {
  queue: string;
  moved: number;
  kept: number;
  complete: boolean;
  batches?: Record<string, number>;
}
export interface DeadLetterQueueView {
  queue: string;
  depth: number;
  batches: { batchId: string; messages: number; oldestSentAt: string }[];
  oldestSentAt: string | null;
  complete: boolean;
}
export type ExpectationState = 'OK' | 'LATE' | 'MISSING' | 'PENDING' | 'SKIPPED';
export interface FeedExpectationView {
  partner: string;
  feed: string;
  expect: { schedule: string; timezone: string; graceMinutes: number; files?: number };
  last: { dueAt: string; localDay: string; closesAt: string; state: ExpectationState; counted: number; expected: number } | null;
  nextDueAt: string | null;
}
