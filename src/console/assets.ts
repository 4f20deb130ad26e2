import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConsoleAsset } from './server';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const WEB_ENTRY = 'src/console/web/main.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The console's page as bin/build.js bundles it (on `npm ci`, and again when
 * one of its sources changed, as for the CLI itself): main.js, main.css and
 * their source maps, read once at start-up.
 */
export async function consoleAssets(): Promise<Map<string, ConsoleAsset>> {
  // bin/build.js is plain CommonJS, loaded as the bin/ scripts load it.
  const { builtEntry } = require(path.join(PROJECT_ROOT, 'bin', 'build.js')) as { builtEntry: (entry: string) => Promise<string> };
  const folder = path.dirname(await builtEntry(WEB_ENTRY));
  const assets = new Map<string, ConsoleAsset>();
  for (const name of ['main.js', 'main.js.map', 'main.css', 'main.css.map']) {
    const file = path.join(folder, name);
    assets.set(`/${name}`, { contentType: TYPES[path.extname(name)]!, body: readFileSync(file) });
  }
  return assets;
}
