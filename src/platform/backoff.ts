import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { attempts: 8, baseMs: 100, maxMs: 5_000 };

/** Waits before retry number `attempt` (1-based): exponential with full jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): Promise<void> {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (attempt - 1));
  return sleep(Math.random() * ceiling);
}

/** HTTP 5xx and throttling are worth retrying; anything else is a caller or configuration fault. */
export function isRetryableAwsError(error: unknown): boolean {
  const candidate = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; name?: string };
  if (candidate?.$retryable) return true;
  const status = candidate?.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || status === 429) return true;
  return /Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalError|InternalFailure|TimeoutError|ECONNRESET|EPIPE/.test(
    `${candidate?.name ?? ''} ${(error as Error)?.message ?? ''}`,
  );
}

/** Runs `operation`, retrying retryable AWS errors with backoff. */
export async function withRetries<T>(operation: () => Promise<T>, options: BackoffOptions = DEFAULT_BACKOFF): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= options.attempts || !isRetryableAwsError(error)) throw error;
      await backoffDelay(attempt, options);
    }
  }
}
