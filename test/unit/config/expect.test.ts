import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../src/config/errors';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import { acmeYmlUpToOrders, REPO_ROOT, tempDir } from '../../support/csv-cases';

const ACME_YML = acmeYmlUpToOrders();

describe('a feed\'s expect block, validated at load', () => {
  let root: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir('partner-ingest-expect-'));
    cpSync(path.join(REPO_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  });
  afterEach(() => cleanup());

  const withExpect = (block: string) =>
    writeFileSync(path.join(root, 'partners', 'acme.yml'), `${ACME_YML.trimEnd()}\n    expect: ${block}\n`);
  const orders = () => loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!;

  function loadError(): ConfigError {
    try {
      loadPartnerRegistry({ root });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).file).toBe(path.join(root, 'partners', 'acme.yml'));
      return error as ConfigError;
    }
    throw new Error('the config loaded, but it is broken');
  }

  it('loads the issue\'s example with its defaults', () => {
    withExpect('{ schedule: "0 6 * * MON-FRI", timezone: Europe/Berlin, graceMinutes: 60, files: 1, calendar: { skip: ["2026-12-25", "2027-01-01"] } }');
    expect(orders().expect).toEqual({
      schedule: '0 6 * * MON-FRI',
      timezone: 'Europe/Berlin',
      graceMinutes: 60,
      files: 1,
      skipDates: ['2026-12-25', '2027-01-01'],
    });
    withExpect('{ schedule: "30 2 * * *", timezone: America/New_York, graceMinutes: 0 }');
    expect(orders().expect).toEqual(expect.objectContaining({ files: 1, skipDates: [] }));
  });

  it('a feed without expect has none', () => {
    expect(orders().expect).toBeUndefined();
  });

  it('a cron expression croner refuses names the schedule field', () => {
    withExpect('{ schedule: "0 6 * * MONDAY-FRIDAY", timezone: Europe/Berlin, graceMinutes: 60 }');
    const error = loadError();
    expect(error.field).toBe('feeds[0].expect.schedule');
    expect(error.message).toContain('not a valid cron expression');
    withExpect('{ schedule: "0 61 * * *", timezone: Europe/Berlin, graceMinutes: 60 }');
    expect(loadError().field).toBe('feeds[0].expect.schedule');
  });

  it('a cron expression with seconds (six fields) is refused by the schema', () => {
    withExpect('{ schedule: "0 0 6 * * *", timezone: Europe/Berlin, graceMinutes: 60 }');
    expect(loadError().field).toBe('feeds[0].expect.schedule');
  });

  it('a time zone Intl does not know names the timezone field', () => {
    withExpect('{ schedule: "0 6 * * *", timezone: Europe/Bonn, graceMinutes: 60 }');
    const error = loadError();
    expect(error.field).toBe('feeds[0].expect.timezone');
    expect(error.message).toContain('"Europe/Bonn" is not an IANA time zone');
  });

  it('a grace as long as the gap between due times', () => {
    withExpect('{ schedule: "*/30 * * * *", timezone: Europe/Berlin, graceMinutes: 30 }');
    const error = loadError();
    expect(error.field).toBe('feeds[0].expect.graceMinutes');
    expect(error.message).toContain('not shorter than the 30 minutes');
    withExpect('{ schedule: "*/30 * * * *", timezone: Europe/Berlin, graceMinutes: 29 }');
    expect(orders().expect?.graceMinutes).toBe(29);
  });

  it('a calendar date that is no date, an unknown field, a missing grace', () => {
    withExpect('{ schedule: "0 6 * * *", timezone: Europe/Berlin, graceMinutes: 60, calendar: { skip: ["2026-02-30"] } }');
    expect(loadError().field).toBe('feeds[0].expect.calendar.skip[0]');
    withExpect('{ schedule: "0 6 * * *", timezone: Europe/Berlin, graceMinutes: 60, tz: UTC }');
    expect(loadError().field).toBe('feeds[0].expect.tz');
    withExpect('{ schedule: "0 6 * * *", timezone: Europe/Berlin }');
    expect(loadError().field).toBe('feeds[0].expect.graceMinutes');
    withExpect('{ schedule: "0 6 * * *", timezone: Europe/Berlin, graceMinutes: 60, files: 0 }');
    expect(loadError().field).toBe('feeds[0].expect.files');
  });
});
