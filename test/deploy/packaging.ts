/**
 * Packaging the service the way a deploy does (`sls package`), without AWS
 * credentials, in throwaway copies of the project, and reading what it produced:
 * shared by the test/deploy suites.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const PROJECT_ENTRIES = [
  'serverless.yml',
  'resources',
  'package.json',
  'tsconfig.json',
  'functions',
  'src',
  'dev',
  'partners',
  'schemas',
  'scripts',
  'bin',
];
export const PACKAGE_TIMEOUT_MS = 240_000;

// CloudFormation JSON is loosely typed: properties are `any`.
export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  Condition?: string;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
  Conditions?: Record<string, unknown>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects): exit code and both outputs. */
export function run(command: string, args: string[], cwd: string, timeout: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  // serverless-esbuild 1.57 stages each zip in a directory under os.tmpdir() and never
  // removes it (non-recursive remove, error swallowed; floydspace/serverless-esbuild#589).
  // Point TMPDIR into the copy so the leftovers go away with it.
  const scratch = path.join(cwd, '.tmp');
  mkdirSync(scratch, { recursive: true });
  const env = { ...packagingEnv(), ...extraEnv, TMPDIR: scratch };
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The caller's environment minus anything that could reach a real AWS account. */
export function packagingEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_')) delete env[name];
  }
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
}

const copies: string[] = [];

/** An empty temporary directory, removed with the copies by removeCopies(). */
export function scratchDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `partner-ingest-${label}-`));
  copies.push(dir);
  return dir;
}

/** A throwaway copy of the service with node_modules symlinked. */
export function projectCopy(label: string): string {
  const dir = scratchDir(label);
  copyProject(dir);
  return dir;
}

/** Copies the service into `dir` (created if need be), node_modules (and .venv) symlinked. */
export function copyProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of PROJECT_ENTRIES) {
    const from = path.join(PROJECT_ROOT, entry);
    if (existsSync(from)) cpSync(from, path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // Where dev/setup.sh pip-installs moto_server on a machine that had none.
  const venv = path.join(PROJECT_ROOT, '.venv');
  if (existsSync(venv)) symlinkSync(venv, path.join(dir, '.venv'), 'dir');
}

export interface Packaged {
  dir: string;
  result: RunResult;
  template: CfnTemplate;
  zipEntries: string[];
  zip?: Buffer;
}

export async function slsPackage(
  label: string,
  args: string[],
  prepare?: (dir: string) => void,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Packaged> {
  return packageIn(projectCopy(label), args, prepare, extraEnv);
}

/** `sls package` in a copy of the project at `dir` (see copyProject). */
export async function packageIn(
  dir: string,
  args: string[],
  prepare?: (dir: string) => void,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Packaged> {
  prepare?.(dir);
  const result = await run('npx', ['sls', 'package', ...args], dir, PACKAGE_TIMEOUT_MS, extraEnv);
  return readPackaged(dir, result);
}

/** What `sls package` left in `dir`, and how it ended. */
export function readPackaged(dir: string, result: RunResult): Packaged {
  const templateFile = path.join(dir, '.serverless', 'cloudformation-template-update-stack.json');
  const zipFile = path.join(dir, '.serverless', 'partner-ingest.zip');
  const zip = existsSync(zipFile) ? readFileSync(zipFile) : undefined;
  return {
    dir,
    result,
    template: existsSync(templateFile)
      ? (JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate)
      : { Resources: {} },
    zipEntries: zip ? zipDirectory(zip).map((entry) => entry.name) : [],
    ...(zip ? { zip } : {}),
  };
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/** A zip's central directory (no dependency, no unzip binary). */
export function zipDirectory(zip: Buffer): ZipEntry[] {
  const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
  const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== END_OF_CENTRAL_DIRECTORY) end -= 1;
  if (end < 0) throw new Error('not a zip file: no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_ENTRY) throw new Error(`bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One file's content out of a zip (stored or deflated, the only methods serverless zips use). */
export function zipEntryContent(zip: Buffer, name: string): Buffer {
  const entry = zipDirectory(zip).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`zip has no ${name}`);
  const LOCAL_FILE_HEADER = 0x04034b50;
  const header = entry.localHeaderOffset;
  if (zip.readUInt32LE(header) !== LOCAL_FILE_HEADER) throw new Error(`bad local header for ${name}`);
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${name}: unsupported zip compression method ${entry.method}`);
}

export function output(result: RunResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function resource(template: CfnTemplate, logicalId: string): CfnResource & { Properties: Record<string, any> } {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  return { ...found, Properties: found.Properties ?? {} };
}

/** Removes every copy made so far (unless KEEP_PACKAGE_COPIES is set, to inspect them). */
export function removeCopies(): void {
  if (process.env.KEEP_PACKAGE_COPIES) return;
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Packages shared by the test files of one jest run (test/deploy/package-variants.ts)
 * live in a folder of the run's, under the temp directory: global setup names it
 * in the environment the workers inherit, global teardown removes it.
 */
const PACKAGE_RUN_VARIABLE = 'PARTNER_INGEST_PACKAGE_RUN';

/** This run's folder, relative to the temp directory; undefined outside a jest run with the global setup. */
export function packageRunFolder(): string | undefined {
  const run = process.env[PACKAGE_RUN_VARIABLE];
  return run ? path.join('partner-ingest-package-run', run) : undefined;
}

export function startPackageRun(): void {
  process.env[PACKAGE_RUN_VARIABLE] = `${process.pid}-${Date.now()}`;
}

/** Removes the run's packages (unless KEEP_PACKAGE_COPIES is set, to inspect them). */
export function endPackageRun(): void {
  const folder = packageRunFolder();
  if (!folder || process.env.KEEP_PACKAGE_COPIES) return;
  rmSync(path.join(tmpdir(), folder), { recursive: true, force: true });
}
