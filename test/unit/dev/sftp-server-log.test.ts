import { uploadOfLogLine } from '../../../dev/sftp-server-log';

// Lines as sshd -e prints internal-sftp's log at -l INFO (the prefix varies with the version and the log target).
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
