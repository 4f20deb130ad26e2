import { locateLoggedPath, openUpload } from '../../../dev/sftp-push-endpoint';

test('chrooted: logged paths are the partner folder from its own /; relative ones start there', () => {
  const folder = '/run/partner-ingest-push/p-1/acme';
  expect(locateLoggedPath(folder, '/', '/orders.csv')).toEqual({ file: `${folder}/orders.csv`, name: 'orders.csv' });
  expect(locateLoggedPath(folder, '/', 'orders.csv')).toEqual({ file: `${folder}/orders.csv`, name: 'orders.csv' });
  expect(locateLoggedPath(folder, '/', '/../orders.csv')).toEqual({ file: `${folder}/orders.csv`, name: 'orders.csv' });
  expect(locateLoggedPath(folder, '/', '/sub/x.csv')).toEqual({ file: `${folder}/sub/x.csv`, name: 'sub/x.csv' });
  expect(locateLoggedPath(folder, '/', '/')).toBeUndefined();
});

test('not chrooted: host paths inside the folder only; the folder itself, its siblings and parents are outside', () => {
  const folder = '/tmp/partner-ingest-push-1/acme';
  expect(locateLoggedPath(folder, folder, `${folder}/orders.csv`)).toEqual({ file: `${folder}/orders.csv`, name: 'orders.csv' });
  expect(locateLoggedPath(folder, folder, 'orders.csv')).toEqual({ file: `${folder}/orders.csv`, name: 'orders.csv' });
  expect(locateLoggedPath(folder, folder, '../globex/x.csv')).toBeUndefined();
  expect(locateLoggedPath(folder, folder, '/tmp/partner-ingest-push-1/acme-other/x.csv')).toBeUndefined();
  expect(locateLoggedPath(folder, folder, '/etc/passwd')).toBeUndefined();
  expect(locateLoggedPath(folder, folder, folder)).toBeUndefined();
});

test('an upload is opened only as a plain file in the folder: a symlink (last component or a folder above) is not followed', async () => {
  const { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'push-open-'));
  try {
    const folder = path.join(dir, 'acme');
    mkdirSync(folder);
    writeFileSync(path.join(dir, 'secret'), 'host file');
    writeFileSync(path.join(folder, 'orders.csv'), 'a,b\n');
    symlinkSync(path.join(dir, 'secret'), path.join(folder, 'link.csv'));
    symlinkSync(dir, path.join(folder, 'up'));
    const opened = await openUpload(folder, path.join(folder, 'orders.csv'));
    expect(opened?.bytes).toBe(4);
    await opened?.close();
    expect(await openUpload(folder, path.join(folder, 'link.csv'))).toBeUndefined();
    expect(await openUpload(folder, path.join(folder, 'up', 'secret'))).toBeUndefined();
    expect(await openUpload(folder, path.join(folder, 'missing.csv'))).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
