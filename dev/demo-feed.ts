import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadPartnerRegistry } from '../src/config/load-partners';

/**
 * The local stack's and the demo's missing file: acme's `returns` feed, a copy
 * of its orders feed for files named returns_*.csv (which no sample is), with a
 * file due shortly after start that never comes. It exists only in the config
 * roots the local stack writes for itself, never in partners/.
 */
export const DEMO_FEED = { partner: 'acme', feed: 'returns' } as const;

/** A minute's grace: the smallest that still shows what grace is for. */
export const DEMO_GRACE_MINUTES = 1;

export interface DemoExpectation {
  readonly schedule: string;
  readonly timezone: 'UTC';
  readonly graceMinutes: number;
  readonly calendar: { readonly skip: readonly string[] };
  /** The one due time that matters, UTC. */
  readonly dueAt: Date;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/**
 * Due `dueInMinutes` after `start`, on the next whole minute (cron's
 * resolution), in UTC. The cron names that date and time (so it fires once a
 * year), and the same day of the three years before is skipped: the checker
 * looks back three due times, and the demo feed did not exist then, so only
 * today's due time can be MISSING.
 */
export function demoExpectation(start: Date, dueInMinutes = 1): DemoExpectation {
  const dueAt = new Date(Math.ceil(start.getTime() / 60_000) * 60_000 + dueInMinutes * 60_000);
  const earlier = [1, 2, 3].map((years) => {
    const then = new Date(dueAt);
    then.setUTCFullYear(dueAt.getUTCFullYear() - years);
    return day(then);
  });
  return {
    schedule: `${dueAt.getUTCMinutes()} ${dueAt.getUTCHours()} ${dueAt.getUTCDate()} ${dueAt.getUTCMonth() + 1} *`,
    timezone: 'UTC',
    graceMinutes: DEMO_GRACE_MINUTES,
    calendar: { skip: earlier },
    dueAt,
  };
}

/**
 * Adds the demo feed with `expectation` to acme's file in a config root the
 * local stack owns (partners/ copied, not linked), and loads the root so a
 * mistake fails here, naming the file, rather than in a function.
 */
export function addDemoFeed(configRoot: string, expectation: DemoExpectation): void {
  const file = path.join(configRoot, 'partners', `${DEMO_FEED.partner}.yml`);
  const document = parseDocument(readFileSync(file, 'utf8'));
  const orders = (document.toJS() as { feeds: Record<string, unknown>[] }).feeds.find((feed) => feed.id === 'orders');
  if (!orders) throw new Error(`${file}: no orders feed to base the demo feed on`);
  const { dueAt: _dueAt, ...expect } = expectation;
  document.addIn(['feeds'], document.createNode({
    ...orders,
    id: DEMO_FEED.feed,
    description: 'Returns, expected once shortly after the local stack starts; no file comes (the local missing-file demo).',
    files: ['returns_*.csv'],
    expect,
  }));
  writeFileSync(file, document.toString());
  loadPartnerRegistry({ root: configRoot });
}
