import { UsageError } from './errors';

const RELATIVE = /^(\d+)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h`, `7d`, `30m`, an ISO date (`2026-11-01`) or date-time; the option name is used in errors. */
export function parseInstant(text: string, option: string, now: Date): string {
  const relative = RELATIVE.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]).toISOString();
  if (/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(text)) {
    const parsed = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(parsed.getTime())) return parsed.toISOString();
  }
  throw new UsageError(`${option} "${text}" is not a time: use 30m, 24h, 7d, 2026-11-01 or 2026-11-01T08:00:00Z`);
}

/** The [from, to] range of a listing; `from` must not be after `to`. */
export function parseRange(since: string | undefined, until: string | undefined, now = new Date()): { from: string; to: string } {
  const from = parseInstant(since ?? '7d', '--since', now);
  const to = until ? parseInstant(until, '--until', now) : now.toISOString();
  if (from > to) throw new UsageError(`--since (${from}) is after --until (${to})`);
  return { from, to };
}
