/**
 * The packages the package tests check: `sls package` exactly as a deploy runs it,
 * with no AWS credentials, for the stages and for copies with other partner files,
 * and what those tests read them with.
 *
 * Every package runs in its own temporary copy of the project (serverless-esbuild
 * writes .esbuild/ and .serverless/ into the service directory). A jest run
 * packages each variant once, whichever test files ask for it: the first to ask
 * packages it, the others (in any worker) wait for it and read the same copy
 * (cachedJson, in the run's folder: see packageRunFolder). A test file asks for
 * all it needs at once, so they package in parallel.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cachedJson } from '../../dev/stack-from-template';
import {
  type CfnResource,
  type CfnTemplate,
  copyProject,
  output,
  type Packaged,
  packageIn,
  packageRunFolder,
  readPackaged,
  resource,
  resourcesOfType,
  type RunResult,
  slsPackage,
} from './packaging';

const DEFAULT_SFTP_SCHEDULE = 'rate(15 minutes)';

export function functionByHandler(template: CfnTemplate, handler: string): CfnResource & { Properties: Record<string, any> } {
  const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(
    ([, fn]) => fn.Properties?.Handler === handler,
  );
  expect(functions).toHaveLength(1);
  return resource(template, functions[0]![0]);
}

export const ingestFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/ingest-file.handler');
export const sftpPullFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/sftp-pull.handler');
export const replayFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/replay.handler');
export const operatorApiFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/operator-api.handler');

/**
 * The variables `sls offline --param resourceSettings=environment` reads from the shell
 * (serverless.yml custom.resourceSettingSources). Set for the prod package, to show a
 * normal package ignores them.
 */
export const SHELL_RESOURCE_SETTINGS = Object.fromEntries(
  [
    'LANDING_BUCKET',
    'WORK_QUEUE_URL',
    'WORK_DLQ_URL',
    'FILE_EVENTS_QUEUE_URL',
    'FILE_EVENTS_DLQ_URL',
    'LEDGER_TABLE',
    'EVENTS_TOPIC_ARN',
    'EVENT_BUS_NAME',
  ].map((name) => [name, `from-the-shell-${name.toLowerCase()}`]),
);

/** Asserts that no statement of a role allows a wildcard action or resource, or uses NotAction/NotResource. */
export function expectNoWildcards(statements: Record<string, any>[]): void {
  for (const statement of statements) {
    const actions = asList(statement.Action) as string[];
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
    expect(asList(statement.Resource)).not.toContain('*');
    expect(statement.Effect).toBe('Allow');
    expect(statement.NotAction).toBeUndefined();
    expect(statement.NotResource).toBeUndefined();
  }
}

/** Partners with an SFTP source in a copy's partners/, with the schedule each should get. */
export function sftpPartnersIn(dir: string): { id: string; schedule: string; secretRef: string }[] {
  return readdirSync(path.join(dir, 'partners'))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => parseYaml(readFileSync(path.join(dir, 'partners', name), 'utf8')) as Record<string, any>)
    .filter((partner) => partner.sources?.sftp)
    .map((partner) => ({
      id: partner.id as string,
      schedule: (partner.sources.sftp.schedule as string | undefined) ?? DEFAULT_SFTP_SCHEDULE,
      secretRef: partner.sources.sftp.credentials.secretRef as string,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Every statement of an IAM role's inline policies; both branches of Fn::If, minus AWS::NoValue. */
export function roleStatements(role: CfnResource): Record<string, any>[] {
  const flatten = (statement: any): Record<string, any>[] => {
    if (statement && typeof statement === 'object' && 'Fn::If' in statement) {
      const [, whenTrue, whenFalse] = statement['Fn::If'] as unknown[];
      return [whenTrue, whenFalse].flatMap(flatten);
    }
    if (statement && typeof statement === 'object' && statement.Ref === 'AWS::NoValue') return [];
    return [statement as Record<string, any>];
  };
  return (role.Properties?.Policies ?? []).flatMap((policy: any) =>
    ([] as unknown[]).concat(policy.PolicyDocument.Statement).flatMap(flatten),
  );
}

export const asList = (value: unknown): unknown[] => ([] as unknown[]).concat(value);

/** The kms package's alarm email (`--param alarmEmail=...`). */
export const ALARM_EMAIL = 'oncall@example.com';
/** The more-sftp package's second S3 partner, hooli-eu, and the principals it configures. */
export const HOOLI_PRINCIPALS = ['arn:aws:iam::210987654321:role/hooli-uploader', 'arn:aws:iam::210987654321:user/hooli-batch'];

/** A second SFTP partner: its secret given by ARN, its own schedule. */
export const INITECH_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-ingest/initech/sftp-AbC123';

/** The statements of a role granting an action, and the resources they grant it on. */
export function grants(template: CfnTemplate, role: string) {
  const statements = roleStatements(resource(template, role));
  const granting = (action: string) => statements.filter((statement) => asList(statement.Action).includes(action));
  return {
    statements,
    actions: [...new Set(statements.flatMap((statement) => asList(statement.Action) as string[]))].sort(),
    resourcesOf: (action: string) => granting(action).flatMap((statement) => asList(statement.Resource)),
  };
}

export const LANDING_ARN = 'arn:${AWS::Partition}:s3:::partner-ingest-dev-landing-${AWS::AccountId}-${AWS::Region}';

/** The push variants' partners: initrode only pushes (with two keys, a rotation); vandelay also drops into S3. */
export const PUSH_PARTNERS = ['initrode', 'vandelay'] as const;
/** The push-vpc variant's stage params. */
export const PUSH_VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
};

/** A fresh ed25519 public key line, made by ssh-keygen in `dir`. */
function publicKeyIn(dir: string, name: string): string {
  const file = path.join(dir, `${name}_push_key`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const key = readFileSync(`${file}.pub`, 'utf8').trim();
  rmSync(file);
  rmSync(`${file}.pub`);
  return key;
}

/** Writes the push partners into a copy: acme's feed, sources.sftpPush with keys made here. */
function addPushPartners(dir: string): void {
  const acme = readFileSync(path.join(dir, 'partners', 'acme.yml'), 'utf8');
  for (const id of PUSH_PARTNERS) {
    const keys = (id === 'initrode' ? [1, 2] : [1]).map((n) => JSON.stringify(publicKeyIn(dir, `${id}${n}`)));
    const push = `  sftpPush:\n    publicKeys: [${keys.join(', ')}]`;
    const partner = acme.replace(/^id: acme$/m, `id: ${id}`).replace(/^ {2}s3: \{\}.*$/m, id === 'vandelay' ? `  s3: {}\n${push}` : push);
    expect(partner).toContain('sftpPush:');
    writeFileSync(path.join(dir, 'partners', `${id}.yml`), partner);
  }
}

interface Variant {
  args: string[];
  prepare?: (dir: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Packaging is meant to fail. */
  fails?: true;
}

const VARIANTS = {
  dev: { args: ['--stage', 'dev'] },
  // With the variables `sls offline` reads set in the shell: a package must not pick them up.
  prod: { args: ['--stage', 'prod'], env: SHELL_RESOURCE_SETTINGS },
  // The SSE-KMS switch is off on every stage today; package it anyway so it stays deployable.
  // Also with an alarm email, the other branch of HasAlarmEmail.
  kms: { args: ['--stage', 'dev', '--param', 'landingEncryption=SSE-KMS', '--param', `alarmEmail=${ALARM_EMAIL}`] },
  broken: {
    args: ['--stage', 'dev'],
    prepare: (dir) => {
      const acme = readFileSync(path.join(dir, 'partners', 'acme.yml'), 'utf8');
      const brokenYaml = acme.replace(/^id: acme$/m, 'id: broken').replace(/encoding: utf-8/, 'encoding: ISO-8859-1');
      expect(brokenYaml).toContain('encoding: ISO-8859-1');
      writeFileSync(path.join(dir, 'partners', 'broken.yml'), brokenYaml);
    },
    fails: true,
  },
  // No partner has an SFTP source: sftpPull is still packaged, with no schedule and no secret.
  'no-sftp': {
    args: ['--stage', 'dev'],
    prepare: (dir) => {
      for (const partner of sftpPartnersIn(dir)) unlinkSync(path.join(dir, 'partners', `${partner.id}.yml`));
    },
  },
  'more-sftp': {
    args: ['--stage', 'dev'],
    prepare: (dir) => {
      const globex = readFileSync(path.join(dir, 'partners', 'globex.yml'), 'utf8');
      const initech = globex
        .replace(/^id: globex$/m, 'id: initech')
        .replace(/secretRef: .*$/m, `secretRef: ${INITECH_SECRET_ARN}`)
        .replace(/schedule: .*$/m, "schedule: 'cron(5 6 * * ? *)'");
      expect(initech).toContain('cron(5 6');
      writeFileSync(path.join(dir, 'partners', 'initech.yml'), initech);
      // And a second S3-drop partner, whose own IAM principals assume its write role.
      const acme = readFileSync(path.join(dir, 'partners', 'acme.yml'), 'utf8');
      const hooli = acme
        .replace(/^id: acme$/m, 'id: hooli-eu')
        .replace(/^ {2}s3: \{\}$/m, `  s3:\n    principals: [${HOOLI_PRINCIPALS.join(', ')}]`);
      expect(hooli).toContain('principals:');
      writeFileSync(path.join(dir, 'partners', 'hooli-eu.yml'), hooli);
    },
  },
  // Partners that push over SFTP: the Transfer Family server, a user and role each (PUBLIC endpoint).
  push: { args: ['--stage', 'dev'], prepare: addPushPartners },
  // The same in a VPC, with an IP allow-list.
  'push-vpc': {
    args: [
      '--stage',
      'dev',
      '--param',
      'sftpPushEndpointType=VPC',
      '--param',
      `sftpPushVpcId=${PUSH_VPC.vpcId}`,
      '--param',
      `sftpPushSubnetIds=${PUSH_VPC.subnetIds.join(',')}`,
      '--param',
      `sftpPushAllowedCidrs=${PUSH_VPC.allowedCidrs.join(',')}`,
    ],
    prepare: addPushPartners,
  },
  // An allow-list on a PUBLIC endpoint, which cannot have one: the package fails.
  'push-public-allow-list': {
    args: ['--stage', 'dev', '--param', 'sftpPushAllowedCidrs=203.0.113.0/24'],
    prepare: addPushPartners,
    fails: true,
  },
  // pushed-uploads/ kept no longer than the push sweep's window: the package fails.
  'push-short-retention': {
    args: ['--stage', 'dev', '--param', 'pushedUploadsRetentionDays=7'],
    prepare: addPushPartners,
    fails: true,
  },
} satisfies Record<string, Variant>;

export type VariantName = keyof typeof VARIANTS;

/** One variant, packaged once per jest run; without the run's folder (no global setup), in this file's own copy. */
async function packageVariant(name: VariantName): Promise<Packaged> {
  const { args, prepare, env } = VARIANTS[name] as Variant;
  const folder = packageRunFolder();
  if (!folder) return slsPackage(name, args, prepare, env);
  const { dir, result } = (await cachedJson(folder, name, async () => {
    const dir = path.join(tmpdir(), folder, name);
    // What an attempt that did not finish left behind.
    rmSync(dir, { recursive: true, force: true });
    copyProject(dir);
    return { dir, result: (await packageIn(dir, args, prepare, env)).result };
  })) as { dir: string; result: RunResult };
  return readPackaged(dir, result);
}

const packages = new Map<VariantName, Promise<Packaged>>();

/** The variants named, packaged; fails if one that should package did not. */
export async function packagedVariants<Names extends VariantName[]>(...names: Names): Promise<{ [K in keyof Names]: Packaged }> {
  const packaged = await Promise.all(
    names.map((name) => {
      let found = packages.get(name);
      if (!found) {
        found = packageVariant(name);
        packages.set(name, found);
      }
      return found;
    }),
  );
  names.forEach((name, index) => {
    const variant: Variant = VARIANTS[name];
    const { dir, result } = packaged[index]!;
    if (!variant.fails && result.code !== 0) {
      throw new Error(`sls package failed in ${dir}:\n${output(result)}`);
    }
  });
  return packaged as { [K in keyof Names]: Packaged };
}
