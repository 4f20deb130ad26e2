import { inboundKeyOf, parseLandingKey, pulledKeyOf, pushedKeyOf, PUSH_QUARANTINE_PREFIX, PUSH_UPLOADS_PREFIX } from '../../../src/landing/layout';
import { fetchIdOf } from '../../../src/sftp/fetch-id';

const version = { partner: 'globex', path: '/outbound/shipments_1.csv.gz', size: 1794, mtime: 1_764_000_000_000 };

test('a pulled key names the fetched version in a folder of its own, and parses back to the partner and file name', () => {
  const key = pulledKeyOf('globex', fetchIdOf(version), 'shipments_1.csv.gz');
  expect(key).toMatch(/^pulled\/globex\/[0-9a-f]{32}\/shipments_1\.csv\.gz$/);
  expect(parseLandingKey(key)).toEqual({ via: 'sftp', partner: 'globex', fileName: 'shipments_1.csv.gz' });
  // As sftp-pull wrote them before the fetch id folder: still ingested.
  expect(parseLandingKey('pulled/globex/shipments_1.csv.gz')).toEqual({ via: 'sftp', partner: 'globex', fileName: 'shipments_1.csv.gz' });
  expect(parseLandingKey(`pulled/globex/${fetchIdOf(version)}/`)).toBeUndefined();
});

test('an inbound key keeps every folder of the partner\'s own upload in the file name', () => {
  expect(inboundKeyOf('acme', 'orders_1.csv')).toBe('inbound/acme/orders_1.csv');
  const folder = fetchIdOf(version);
  expect(parseLandingKey(`inbound/acme/${folder}/orders_1.csv`)).toEqual({ via: 's3', partner: 'acme', fileName: `${folder}/orders_1.csv` });
});

test('the fetch id is the same for the same version, and another for any other partner, path, size or mtime', () => {
  expect(fetchIdOf({ ...version })).toBe(fetchIdOf(version));
  const others = [{ partner: 'umbrella' }, { path: '/outbound/shipments_2.csv.gz' }, { size: 1795 }, { mtime: version.mtime + 1000 }];
  const ids = new Set([version, ...others.map((change) => ({ ...version, ...change }))].map(fetchIdOf));
  expect(ids.size).toBe(others.length + 1);
});

test('a pushed key names the completed upload in a folder of its own and parses back to the partner and final name; pushed-uploads/ and quarantine/ are no landing keys', () => {
  const key = pushedKeyOf('initrode', '0123456789abcdef0123456789abcdef', 'orders_1.csv');
  expect(key).toBe('pushed/initrode/0123456789abcdef0123456789abcdef/orders_1.csv');
  expect(parseLandingKey(key)).toEqual({ via: 'sftp-push', partner: 'initrode', fileName: 'orders_1.csv' });
  expect(parseLandingKey(`${PUSH_UPLOADS_PREFIX}initrode/orders_1.csv`)).toBeUndefined();
  expect(parseLandingKey(`${PUSH_QUARANTINE_PREFIX}initrode/orders_1.csv`)).toBeUndefined();
});
