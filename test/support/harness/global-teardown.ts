/**
 * After a whole run: the grants of the functions' packaged roles that no call
 * of any test used. Each must either go, or be listed in kept-grants.ts with
 * the reason it stays (and say so beside it in resources/iam.yml). A run of only
 * some tests (a path or name filter) cannot tell, and checks nothing. Also
 * removes the run's packages (see global-setup.ts).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '@jest/types';
import { endPackageRun } from '../../deploy/packaging';
import { FUNCTION_NAMES } from './function-scope';
import { grantUsageDir, type GrantUse } from './iam-check';
import { KEPT_GRANTS } from './kept-grants';
import { packagedStack } from './packaged-stack';

const keyOf = (grant: GrantUse) => `${grant.role}/${grant.statement}/${grant.action} on ${grant.resource}`;

/** Every (statement, action, resource) the functions' roles allow. */
async function packagedGrants(): Promise<GrantUse[]> {
  const stack = await packagedStack();
  return FUNCTION_NAMES.flatMap((fn) => {
    const role = stack.role(fn);
    return role.policies.flatMap(({ policy }) =>
      policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) =>
        ([] as string[]).concat(statement.Action).flatMap((action) =>
          ([] as string[]).concat(statement.Resource).map((resource) => ({ role: role.logicalId, statement: statement.Sid ?? '(no Sid)', action, resource })),
        ),
      ),
    );
  });
}

export default async function globalTeardown(globalConfig: Config.GlobalConfig): Promise<void> {
  const dir = grantUsageDir(process.pid);
  const partial = (globalConfig.testPathPatterns as unknown as { isSet?: () => boolean }).isSet?.() || Boolean(globalConfig.testNamePattern) || globalConfig.onlyChanged || globalConfig.findRelatedTests;
  // PARTNER_INGEST_GRANT_REPORT=1 lists the unused grants of a partial run too (without failing it).
  const report = Boolean(process.env.PARTNER_INGEST_GRANT_REPORT);
  try {
    if ((partial && !report) || !existsSync(dir)) return;
    const used = new Set<string>();
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)) used.add(keyOf(JSON.parse(line) as GrantUse));
    }
    const grants = await packagedGrants();
    const unused = grants.filter((grant) => !used.has(keyOf(grant)));
    const unexplained = unused.filter((grant) => !KEPT_GRANTS[`${grant.role}/${grant.statement}/${grant.action}`]);
    process.stdout.write(`\nIAM grants of the packaged roles: ${grants.length}, used by the tests' calls: ${grants.length - unused.length}, kept unused with a reason: ${unused.length - unexplained.length}\n`);
    if (!unexplained.length) return;
    const list = `${unexplained.length} grant(s) of the packaged roles were used by no call of any test. Remove them from resources/iam.yml, or say why they stay (resources/iam.yml and test/support/harness/kept-grants.ts):\n  ${unexplained.map(keyOf).join('\n  ')}`;
    if (partial) process.stdout.write(`${list}\n`);
    else throw new Error(list);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    endPackageRun();
  }
}
