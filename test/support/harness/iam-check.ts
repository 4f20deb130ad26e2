/**
 * Least privilege, proven on every call the tests make: each AWS call a
 * function makes during a test is evaluated against that function's role as
 * packaged (plus the resource policy of its target) with a real IAM policy
 * evaluator, @cloud-copilot/iam-simulate. A call the role does not allow fails
 * the test that made it, naming the function, the action and the resource.
 * The statements that allowed calls are kept, so the whole run can list the
 * grants no call used (global-teardown.ts).
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { definitionsHash } from '../../../dev/stack-from-template';
import type { FunctionName } from './function-scope';
import { iamRequestsOf, UnmappedCommandError, type CallFacts, type IamRequest } from './iam-requests';
import { ACCOUNT, packagedStack, PROJECT_ROOT, type PackagedStack } from './packaged-stack';

export interface RecordedCall extends CallFacts {
  readonly function: FunctionName;
}

/** One grant: an action on a resource pattern, in a statement of a function's role. */
export interface GrantUse {
  readonly role: string;
  readonly statement: string;
  readonly action: string;
  readonly resource: string;
}

/** Calls since the last check, each with the partner configuration its function was packaged with. */
const pending: { readonly call: RecordedCall; readonly configRoot: string | undefined }[] = [];
let configRoot: string | undefined;
/** Copies of test partner configurations, by content: what the calls are checked against after the test. */
const snapshots = new Map<string, string>();
process.on('exit', () => {
  for (const dir of snapshots.values()) rmSync(dir, { recursive: true, force: true });
});

/** Called by the clients' middleware for every call made inside a function's invocation. */
export function recordCall(call: RecordedCall): void {
  pending.push({ call, configRoot });
}

/**
 * The partner configuration the functions invoked from now on are packaged with
 * (default: the project's partners/). Its partner files are copied now: a test
 * may remove its folder before its calls are checked, after the test (where
 * packaging, about 10 s and more on a loaded machine, has the hook's time).
 */
export function packageRolesWith(root: string | undefined): void {
  configRoot = root === undefined ? undefined : snapshotOf(root);
}

function snapshotOf(root: string): string {
  const key = definitionsHash(PROJECT_ROOT, root);
  let copy = snapshots.get(key);
  if (!copy) {
    copy = mkdtempSync(path.join(os.tmpdir(), 'partner-ingest-roles-config-'));
    cpSync(path.join(root, 'partners'), path.join(copy, 'partners'), { recursive: true });
    snapshots.set(key, copy);
  }
  return copy;
}

/** Where this run's grant uses are collected: one folder per jest run (the main process's pid). */
export function grantUsageDir(runPid = process.env.JEST_WORKER_ID ? process.ppid : process.pid): string {
  return path.join(os.tmpdir(), 'partner-ingest-grant-usage', String(runPid));
}

interface Verdict {
  readonly allowed: boolean;
  readonly uses: readonly GrantUse[];
  readonly detail: string;
}

const verdicts = new Map<string, Promise<Verdict>>();

/** The explanation of each identity statement that allowed the request: its Sid, and which of its actions and resources matched. */
interface StatementExplain {
  readonly identifier: string;
  readonly actions?: ActionExplain | readonly ActionExplain[];
  readonly resources?: ResourceExplain | readonly ResourceExplain[];
}
interface ActionExplain {
  readonly action: string;
  readonly matches: boolean;
}
interface ResourceExplain {
  readonly resource: string;
  readonly matches: boolean;
}

function allowingStatements(result: any): StatementExplain[] {
  return (result?.analysis?.identityAnalysis?.allowStatements ?? []).map((allow: { explain: StatementExplain }) => allow.explain);
}

async function evaluate(stack: PackagedStack, fn: FunctionName, request: IamRequest): Promise<Verdict> {
  const role = stack.role(fn);
  const resourcePolicy = stack.resourcePolicy(request.resource);
  const response: any = await runSimulation(
    {
      identityPolicies: role.policies.map(({ name, policy }) => ({ name, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: role.arn,
        resource: { resource: request.resource, accountId: ACCOUNT },
        // The SDK talks to AWS over TLS only; the bucket policy denies anything else.
        contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': role.arn, 'aws:PrincipalAccount': ACCOUNT, ...request.context },
      },
    } as any,
    {},
  );
  if (response.resultType === 'error') {
    return { allowed: false, uses: [], detail: `the simulator refused the request: ${JSON.stringify(response.errors)}` };
  }
  const allowed = response.overallResult === 'Allowed';
  // A statement with one action (or resource) explains it as an object, with several as a list.
  const list = <T>(value: T | readonly T[] | undefined): T[] => ([] as T[]).concat(value ?? []);
  const uses = allowingStatements(response.result).flatMap((explain) =>
    list(explain.actions)
      .filter((action) => action.matches)
      .flatMap((action) =>
        list(explain.resources)
          .filter((resource) => resource.matches)
          .map((resource) => ({ role: role.logicalId, statement: explain.identifier, action: action.action, resource: resource.resource })),
      ),
  );
  return { allowed, uses, detail: response.overallResult };
}

/**
 * Evaluates the calls recorded since the last check; throws naming every call
 * a role does not allow. Grants that allowed calls go to this run's usage folder.
 */
export async function checkRecordedCalls(): Promise<void> {
  const calls = pending.splice(0);
  const denied: string[] = [];
  const uses = new Map<string, GrantUse>();
  for (const { call, configRoot: root } of calls) {
    const stack = await packagedStack(root);
    let requests: IamRequest[];
    try {
      requests = iamRequestsOf(call);
    } catch (error) {
      if (!(error instanceof UnmappedCommandError)) throw error;
      denied.push(`${call.function}: ${error.message} — the harness does not know which IAM action this call needs (test/support/harness/iam-requests.ts)`);
      continue;
    }
    for (const request of requests) {
      const key = `${stack.configRoot}\0${call.function}\0${request.action}\0${request.resource}\0${JSON.stringify(request.context ?? {})}`;
      let verdict = verdicts.get(key);
      if (!verdict) verdicts.set(key, (verdict = evaluate(stack, call.function, request)));
      const { allowed, uses: used, detail } = await verdict;
      for (const use of used) uses.set(JSON.stringify(use), use);
      if (!allowed) {
        const keys = request.context ? ` with ${JSON.stringify(request.context)}` : '';
        const line = `${call.function} (${stack.role(call.function).logicalId}): ${request.action} on ${request.resource}${keys} — ${detail}, from ${call.operation}${request.because ? ` (${request.because})` : ''}`;
        if (!denied.includes(line)) denied.push(line);
      }
    }
  }
  if (uses.size) {
    const dir = grantUsageDir();
    mkdirSync(dir, { recursive: true });
    appendFileSync(path.join(dir, `${process.pid}.jsonl`), [...uses.values()].map((use) => `${JSON.stringify(use)}\n`).join(''));
  }
  if (denied.length) {
    throw new Error(`AWS would refuse ${denied.length} call(s) this test made, as the roles are packaged:\n  ${denied.join('\n  ')}`);
  }
}
