import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/** A CloudFormation template (or the `resources` of serverless.yml), loosely typed. */
export type Json = any;
export interface CfnResource {
  Type: string;
  Properties?: Json;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Conditions?: Record<string, Json>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, Json>;
}

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The files `sls print` and `sls package`'s template depend on: serverless.yml, resources/*.yml, the partners plugin (and its push endpoint and its delivery resources), partners/*.yml. */
export function definitionsHash(root: string, partnersRoot = root): string {
  const hash = createHash('sha256');
  const partners = path.join(partnersRoot, 'partners');
  const resources = path.join(root, 'resources');
  const files = [
    ['serverless.yml', path.join(root, 'serverless.yml')],
    ...(existsSync(resources) ? readdirSync(resources).filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => [`resources/${name}`, path.join(resources, name)]) : []),
    ['scripts/serverless-partners.js', path.join(root, 'scripts', 'serverless-partners.js')],
    ['scripts/serverless-sftp-push.js', path.join(root, 'scripts', 'serverless-sftp-push.js')],
    ['scripts/sftp-push-delivery.js', path.join(root, 'scripts', 'sftp-push-delivery.js')],
    ...(existsSync(partners) ? readdirSync(partners).filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => [`partners/${name}`, path.join(partners, name)]) : []),
  ];
  for (const [label, file] of files) {
    hash.update(`${label}\0`);
    hash.update(readFileSync(file!));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function slsPrint(root: string, stage: string): Promise<Json> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
  // Printing resolves the configuration only; no AWS account is involved.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete env[name];
  const { stdout } = await promisify(execFile)('npx', ['sls', 'print', '--stage', stage, '--format', 'json'], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}

/**
 * serverless.yml resolved for a stage (`sls print`), cached in the temp directory per
 * stage and per content of its definitions, so one machine state prints it once.
 */
export function printedServerless(stage: string, root = PROJECT_ROOT): Promise<Json> {
  return cachedJson('partner-ingest-sls-print', `${stage}-${definitionsHash(root)}`, () => slsPrint(root, stage));
}

/**
 * `produce()`'s result, kept as `<os tmpdir>/<folder>/<name>.json` so one machine
 * state computes it once. Concurrent callers (parallel test suites, other
 * processes) wait for the first one's result instead of computing it again.
 */
export async function cachedJson(folder: string, name: string, produce: () => Promise<Json>): Promise<Json> {
  const cacheDir = path.join(os.tmpdir(), folder);
  mkdirSync(cacheDir, { recursive: true });
  const base = path.join(cacheDir, name);
  const file = `${base}.json`;
  const lock = `${base}.lock`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    try {
      mkdirSync(lock);
    } catch {
      // Another process is producing it; a lock older than five minutes is abandoned.
      const stale = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 300_000;
      if (stale) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(200);
      continue;
    }
    try {
      const produced = await produce();
      const partial = `${file}.${process.pid}`;
      writeFileSync(partial, JSON.stringify(produced));
      renameSync(partial, file);
      return produced;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** A template's conditions, evaluated (once resolved, they compare literals only). */
export function evaluateConditions(template: Pick<CfnTemplate, 'Conditions'>): Record<string, boolean> {
  const conditions = (template.Conditions ?? {}) as Record<string, Json>;
  const evaluate = (expression: Json): boolean => {
    if ('Fn::Equals' in expression) {
      const [a, b] = expression['Fn::Equals'] as Json[];
      if (typeof a !== 'string' || typeof b !== 'string') throw new Error(`cannot evaluate ${JSON.stringify(expression)}`);
      return a === b;
    }
    if ('Fn::Not' in expression) return !evaluate(expression['Fn::Not'][0]);
    if ('Fn::And' in expression) return (expression['Fn::And'] as Json[]).every(evaluate);
    if ('Fn::Or' in expression) return (expression['Fn::Or'] as Json[]).some(evaluate);
    if ('Condition' in expression) return evaluate(conditions[expression.Condition]);
    throw new Error(`cannot evaluate ${JSON.stringify(expression)}`);
  };
  return Object.fromEntries(Object.entries(conditions).map(([name, expression]) => [name, evaluate(expression)]));
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Replaces each `Fn::If` by its branch for the evaluated conditions, dropping `AWS::NoValue`. */
export function resolveIfs(value: Json, conditions: Record<string, boolean>): Json {
  const resolve = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(resolve).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && keys[0] === 'Fn::If') {
      const [name, whenTrue, whenFalse] = node['Fn::If'] as [string, Json, Json];
      if (!(name in conditions)) throw new Error(`unknown condition ${name}`);
      return resolve(conditions[name] ? whenTrue : whenFalse);
    }
    if (keys.length === 1 && keys[0] === 'Ref' && node.Ref === 'AWS::NoValue') return NO_VALUE;
    return Object.fromEntries(keys.map((key) => [key, resolve(node[key])]).filter(([, item]) => item !== NO_VALUE));
  };
  const resolved = resolve(value);
  return resolved === NO_VALUE ? undefined : resolved;
}

/** The logical ids a value refers to: Ref, Fn::GetAtt, Fn::Sub's ${Id} / ${Id.Attr}. */
export function referencedIds(value: Json): Set<string> {
  const found = new Set<string>();
  const walk = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, item] of Object.entries(node)) {
      if (key === 'Ref' && typeof item === 'string' && !item.startsWith('AWS::')) found.add(item);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(item) ? (item[0] as string) : String(item).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(item) ? (item[0] as string) : (item as string);
        for (const match of text.matchAll(/\$\{([^}!.]+)(\.[^}]*)?\}/g)) if (!match[1]!.startsWith('AWS::')) found.add(match[1]!);
        if (Array.isArray(item)) walk(item[1]);
      } else walk(item);
    }
  };
  walk(value);
  return found;
}

/**
 * The template changes moto needs, each equivalent in CloudFormation:
 * - `{"Ref": <AWS::Events::EventBus>}` -> `{"Fn::GetAtt": [<bus>, "Name"]}`: both are the
 *   bus name in CloudFormation; moto resolves the Ref to its internal object;
 * - an AWS::Events::Archive's EventPattern object -> its JSON text: CloudFormation
 *   takes either; moto's archive model parses text only.
 */
export function motoRewrites(template: CfnTemplate): { template: CfnTemplate; applied: string[] } {
  const copy = JSON.parse(JSON.stringify(template)) as CfnTemplate;
  const applied = new Set<string>();
  const buses = new Set(Object.entries(copy.Resources).filter(([, r]) => r.Type === 'AWS::Events::EventBus').map(([id]) => id));
  const rewrite = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref' && buses.has(value.Ref)) {
      applied.add('Ref EventBus -> Fn::GetAtt EventBus.Name');
      return { 'Fn::GetAtt': [value.Ref, 'Name'] };
    }
    return Object.fromEntries(keys.map((key) => [key, rewrite(value[key])]));
  };
  copy.Resources = rewrite(copy.Resources);
  if (copy.Outputs) copy.Outputs = rewrite(copy.Outputs);
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type === 'AWS::Events::Archive' && typeof resource.Properties?.EventPattern === 'object') {
      resource.Properties.EventPattern = JSON.stringify(resource.Properties.EventPattern);
      applied.add('Archive EventPattern object -> JSON text');
    }
  }
  return { template: copy, applied: [...applied].sort() };
}

/**
 * A template of the `wanted` resources only (plus whatever they refer to once the
 * conditions are applied, such as a KMS key), ready for moto's CloudFormation:
 * conditions evaluated and `Fn::If` resolved (no Conditions sent), resources whose
 * condition is false dropped, DependsOn on resources left out removed, moto's
 * rewrites applied.
 */
export function subsetForMoto(source: CfnTemplate, wanted: (logicalId: string, resource: CfnResource) => boolean): CfnTemplate {
  const conditions = evaluateConditions(source);
  const resolved = new Map<string, CfnResource>();
  for (const [logicalId, resource] of Object.entries(source.Resources)) {
    if (resource.Condition && !conditions[resource.Condition]) continue;
    const { Condition: _condition, ...rest } = resolveIfs(resource, conditions) as CfnResource;
    resolved.set(logicalId, rest);
  }
  const kept = new Set<string>();
  const keep = (logicalId: string): void => {
    if (kept.has(logicalId)) return;
    const resource = resolved.get(logicalId);
    if (!resource) throw new Error(`the template has no (enabled) resource ${logicalId}`);
    kept.add(logicalId);
    for (const id of referencedIds(resource.Properties ?? {})) keep(id);
  };
  for (const [logicalId, resource] of resolved) if (wanted(logicalId, resource)) keep(logicalId);
  const Resources: Record<string, CfnResource> = {};
  for (const logicalId of kept) {
    const resource = { ...resolved.get(logicalId)! };
    if (resource.DependsOn !== undefined) {
      const dependsOn = [resource.DependsOn].flat().filter((id) => kept.has(id));
      if (dependsOn.length) resource.DependsOn = dependsOn;
      else delete resource.DependsOn;
    }
    Resources[logicalId] = resource;
  }
  return motoRewrites({ AWSTemplateFormatVersion: '2010-09-09', Resources }).template;
}
