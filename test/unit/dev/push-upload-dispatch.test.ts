import { Readable } from 'node:stream';
import { PushUploadDispatcher, type Dispatched, type PushDispatchDeps, type TransferUploadEvent } from '../../../dev/push-upload-dispatch';
import type { HandoffResult } from '../../../src/sftp-push/handoff';
import { uploadReportOf } from '../../../src/sftp-push/upload-event';

/** A partner folder in memory (chroot-style paths: `/name`), a bucket in memory, and a recording hand-off. */
function harness(overrides: Partial<PushDispatchDeps> = {}) {
  const files = new Map<string, string>();
  const objects = new Map<string, string>();
  const steps: string[] = [];
  const events: TransferUploadEvent[] = [];
  const dispatched: Dispatched[] = [];
  const deps: PushDispatchDeps = {
    partner: 'acme',
    serverId: '127.0.0.1:2222',
    bucket: 'landing',
    locate: (logged) => (logged.startsWith('/') && logged.length > 1 ? { file: `disk:${logged.slice(1)}`, name: logged.slice(1) } : undefined),
    open: async (file) => {
      const content = files.get(file);
      return content === undefined ? undefined : { body: Readable.from([Buffer.from(content)]), bytes: content.length, close: async () => undefined };
    },
    put: async (key, file) => {
      const chunks: Buffer[] = [];
      for await (const chunk of file.body) chunks.push(chunk as Buffer);
      objects.set(key, Buffer.concat(chunks).toString());
      steps.push(`put ${key}`);
      return { etag: `"etag-${key}"`, bytes: file.bytes };
    },
    rename: async (from, to) => {
      steps.push(`rename ${from} ${to}`);
      const content = objects.get(from);
      if (content === undefined) return false;
      objects.set(to, content);
      objects.delete(from);
      return true;
    },
    handOff: async (event) => {
      events.push(event);
      steps.push(`handoff ${event['detail-type']}`);
      return { outcome: 'handed-off', partner: 'acme', key: 'pushed/acme/x' } as HandoffResult;
    },
    onDispatched: (entry) => dispatched.push(entry),
    renameWaitMs: 300,
    ...overrides,
  };
  return { dispatcher: new PushUploadDispatcher(deps), files, objects, steps, events, dispatched };
}

test('a close is put where Transfer Family writes it, then handed off as its Completed event', async () => {
  const h = harness();
  h.files.set('disk:orders.csv', 'a,b\n1,2\n');
  h.dispatcher.accept('<38>Dec  3 18:30:38 internal-sftp[15299]: close "/orders.csv" bytes read 0 written 8');
  await h.dispatcher.idle();
  expect(h.objects.get('pushed-uploads/acme/orders.csv')).toBe('a,b\n1,2\n');
  expect(h.steps).toEqual(['put pushed-uploads/acme/orders.csv', 'handoff SFTP Server File Upload Completed']);
  // The event is one the hand-off's own reader accepts, naming the object, its ETag, size and user.
  expect(uploadReportOf(h.events[0])).toMatchObject({
    outcome: 'completed',
    serverId: '127.0.0.1:2222',
    user: 'acme',
    bucket: 'landing',
    key: 'pushed-uploads/acme/orders.csv',
    etag: 'etag-pushed-uploads/acme/orders.csv',
    bytes: 8,
    sessionId: expect.stringMatching(/^local-15299-/),
  });
});

test('a forced close is put and reported Failed (PARTIAL_UPLOAD)', async () => {
  const h = harness();
  h.files.set('disk:big.csv', 'partial');
  h.dispatcher.accept('forced close "/big.csv" bytes read 0 written 7');
  await h.dispatcher.idle();
  expect(uploadReportOf(h.events[0])).toMatchObject({ outcome: 'failed', failureCode: 'PARTIAL_UPLOAD', bytes: 7, key: 'pushed-uploads/acme/big.csv' });
  expect(h.objects.get('pushed-uploads/acme/big.csv')).toBe('partial');
});

test('a file renamed before its close was read is found under the name a later logged rename gives it; the rename follows in the bucket', async () => {
  const h = harness();
  h.files.set('disk:x.csv', 'done');
  h.dispatcher.accept('close "/x.csv.filepart" bytes read 0 written 4');
  // The rename line arrives a little later (the log's own delay).
  setTimeout(() => h.dispatcher.accept('posix-rename old "/x.csv.filepart" new "/x.csv"'), 50);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await h.dispatcher.idle();
  expect(h.steps).toEqual([
    'put pushed-uploads/acme/x.csv.filepart',
    'handoff SFTP Server File Upload Completed',
    'rename pushed-uploads/acme/x.csv.filepart pushed-uploads/acme/x.csv',
  ]);
  expect([...h.objects]).toEqual([['pushed-uploads/acme/x.csv', 'done']]);
});

test('a closed file that is gone with no rename, or a path outside the folder, is reported with its code and nothing is put', async () => {
  const h = harness();
  h.dispatcher.accept('close "/vanished.csv" bytes read 0 written 4');
  h.dispatcher.accept('close "relative-outside" bytes read 0 written 4');
  await h.dispatcher.idle();
  expect(h.dispatched.map((entry) => (entry.kind === 'error' ? entry.code : entry.kind))).toEqual(['LOCAL_PUSH_FILE_GONE', 'LOCAL_PUSH_PATH_OUTSIDE']);
  expect(h.steps).toEqual([]);
});

test('downloads and other lines do nothing; a failed hand-off is reported and the next line still handled', async () => {
  const h = harness({
    handOff: async (event) => {
      if (String(event.detail['file-path']).endsWith('/bad.csv')) throw Object.assign(new Error('refused'), { code: 'SFTP_PUSH_PATH_FOREIGN' });
      return { outcome: 'handed-off', partner: 'acme', key: 'pushed/acme/y' };
    },
  });
  h.files.set('disk:bad.csv', 'b');
  h.files.set('disk:good.csv', 'g');
  h.dispatcher.accept('close "/good.csv" bytes read 1 written 0');
  h.dispatcher.accept('session opened for local user root from [127.0.0.1]');
  h.dispatcher.accept('close "/bad.csv" bytes read 0 written 1');
  h.dispatcher.accept('close "/good.csv" bytes read 0 written 1');
  await h.dispatcher.idle();
  expect(h.dispatched).toEqual([
    { kind: 'error', path: '/bad.csv', code: 'SFTP_PUSH_PATH_FOREIGN', message: 'refused' },
    { kind: 'upload', outcome: 'completed', key: 'pushed-uploads/acme/good.csv', bytes: 1, result: { outcome: 'handed-off', partner: 'acme', key: 'pushed/acme/y' } },
  ]);
});
