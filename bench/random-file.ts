import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';

const MiB = 1024 * 1024;

/** Streams `bytes` of random (incompressible) data to a new `file`, 1 MiB at a time, and syncs it. */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    const buffer = Buffer.allocUnsafe(MiB);
    for (let written = 0; written < bytes; ) {
      const length = Math.min(buffer.length, bytes - written);
      randomFillSync(buffer, 0, length);
      written += (await handle.write(buffer, 0, length)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
