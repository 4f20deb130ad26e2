import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** The names dev/setup.sh installs Chromium under and looks for on PATH. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

/** Chromium on PATH, found as dev/setup.sh finds it; missing, the exact command to install it. */
export function chromiumPath(): string {
  for (const name of CHROMIUM_NAMES) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  throw new Error('Chromium is not on PATH (the console test drives it). Run:\n    bash dev/setup.sh test\n(or: sudo apt-get install -y chromium)');
}

/** Headless Chromium; no sandbox, since CI runs tests as root, where Chromium's sandbox cannot start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}
