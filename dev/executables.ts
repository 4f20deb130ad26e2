import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';

/** The folders of a PATH value, in order. */
export function pathDirs(PATH = process.env.PATH ?? ''): string[] {
  return PATH.split(path.delimiter).filter(Boolean);
}

/** The first executable `name` in `dirs`, looked up without running anything. */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = path.resolve(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
