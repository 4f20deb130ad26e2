/** Before the run: an empty folder for this run's grant uses (see global-teardown.ts). */
import { rmSync } from 'node:fs';
import { grantUsageDir } from './iam-check';

export default function globalSetup(): void {
  rmSync(grantUsageDir(process.pid), { recursive: true, force: true });
}
