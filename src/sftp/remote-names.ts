/**
 * Why a remote file name must not be used, or undefined when it is safe.
 * Names become S3 key segments and remote paths; anything that could climb out
 * of a folder or confuse a terminal or a log is refused.
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'empty or a directory reference';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name.includes('..')) return 'contains ".."';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'contains a NUL or control character';
  if (Buffer.byteLength(name) > 255) return 'longer than 255 bytes';
  return undefined;
}
