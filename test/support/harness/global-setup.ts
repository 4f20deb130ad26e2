/**
 * Before the run: an empty folder for this run's grant uses (see
 * global-teardown.ts), and the stack packaged once (about 10 s, then cached per
 * content of serverless.yml, resources/*.yml and the partner files), so no test
 * pays for it. And a folder of this run's for the package tests' packages, which
 * their test files share (test/deploy/package-variants.ts).
 */
import { rmSync } from 'node:fs';
import { startPackageRun } from '../../deploy/packaging';
import { grantUsageDir } from './iam-check';
import { packagedStack } from './packaged-stack';

export default async function globalSetup(): Promise<void> {
  rmSync(grantUsageDir(process.pid), { recursive: true, force: true });
  startPackageRun();
  await packagedStack();
}
