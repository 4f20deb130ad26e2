import { sftpServerLogEventOf, splitLogRecords, uploadOfLogLine } from '../../../dev/sftp-server-log';

// Lines as OpenSSH 9.2's sftp-server logs them at -l INFO: through syslog (`<pri>date internal-sftp[pid]: …`) or with -e on its stderr (bare).
test('a plain close of a written handle is a completed upload, a forced close a failed one', () => {
  expect(uploadOfLogLine('internal-sftp[4242]: close "/orders_2026-12-01.csv" bytes read 0 written 1794')).toEqual({
    outcome: 'completed',
    path: '/orders_2026-12-01.csv',
    bytesWritten: 1794,
  });
  expect(uploadOfLogLine('forced close "/orders_2026-12-01.csv.filepart" bytes read 0 written 65536')).toEqual({
    outcome: 'failed',
    path: '/orders_2026-12-01.csv.filepart',
    bytesWritten: 65536,
  });
});

test('a download, an unwritten handle and other lines report no upload', () => {
  expect(uploadOfLogLine('close "/orders.csv" bytes read 1794 written 0')).toBeUndefined();
  expect(uploadOfLogLine('open "/orders.csv" flags WRITE,CREATE,TRUNCATE mode 0644')).toBeUndefined();
  expect(uploadOfLogLine('session closed for local user initrode from [127.0.0.1]')).toBeUndefined();
});

test('a name with quotes or spaces keeps them (sftp-server prints the path as is)', () => {
  expect(uploadOfLogLine('close "/my "orders" 1.csv" bytes read 0 written 3')?.path).toBe('/my "orders" 1.csv');
});

test('renames, plain and posix-rename, with the session pid when syslog tags the line', () => {
  expect(sftpServerLogEventOf('<38>Dec  3 18:30:41 internal-sftp[15422]: posix-rename old "/y.filepart" new "/y"')).toEqual({
    kind: 'rename',
    from: '/y.filepart',
    to: '/y',
    session: '15422',
  });
  expect(sftpServerLogEventOf('rename old "/tmp/p/acme/z.tmp" new "/tmp/p/acme/z"')).toEqual({ kind: 'rename', from: '/tmp/p/acme/z.tmp', to: '/tmp/p/acme/z' });
  expect(sftpServerLogEventOf('<38>Dec  3 18:30:43 internal-sftp[15437]: forced close "/big.csv" bytes read 0 written 31856640')).toEqual({
    kind: 'close',
    outcome: 'failed',
    path: '/big.csv',
    bytesWritten: 31856640,
    session: '15437',
  });
  expect(sftpServerLogEventOf('<38>Dec  3 18:30:42 internal-sftp[15437]: open "/big.csv" flags WRITE,CREATE,TRUNCATE mode 0644')).toBeUndefined();
});

test('log records split on NUL (syslog over a stream socket) and CRLF (-e), keeping an unfinished record', () => {
  const first = splitLogRecords('', '<38>a: close "/x" bytes read 0 written 1\0<38>b: sess');
  expect(first).toEqual({ lines: ['<38>a: close "/x" bytes read 0 written 1'], rest: '<38>b: sess' });
  expect(splitLogRecords(first.rest, 'ion closed\0open "/y"\r\nclose "/y" bytes read 0 written 2\r\n')).toEqual({
    lines: ['<38>b: session closed', 'open "/y"', 'close "/y" bytes read 0 written 2'],
    rest: '',
  });
});
