'use strict';
/**
 * Builds a TypeScript entry point (the CLI, the scripts `npm start` and
 * `npm run demo` run) into .build/ with esbuild, so a run loads JavaScript
 * instead of compiling TypeScript each time. `npm ci` builds them (`prepare`);
 * after that a run rebuilds only when one of the entry's inputs changed.
 *
 * `node bin/build.js` builds every entry in ENTRIES. Plain JavaScript, so it
 * needs no build itself; esbuild is loaded only to build, never by a run that
 * finds its build current.
 */
const fs = require('node:fs');
const { isBuiltin } = require('node:module');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BUILD_ROOT = path.join(ROOT, '.build');

/** What `npm ci` builds (`prepare`): the CLI, the scripts `npm start` and `npm run demo` run, and the console's page. */
const ENTRIES = ['src/cli/main.ts', 'scripts/local.ts', 'scripts/demo.ts', 'src/console/web/main.ts'];

/**
 * Entries that run in a browser (the operator console's page): bundled whole,
 * packages included, into main.js and main.css (the CSS its modules import),
 * served by the console itself — no CDN, works offline.
 */
const BROWSER_ENTRIES = new Set(['src/console/web/main.ts']);

/** Inputs esbuild does not list: how it is asked to build (this file) and the compiler options it reads. */
const BUILD_SETTINGS = ['bin/build.js', 'tsconfig.json'];

/** esbuild's name for a package requireExternals leaves to `require`. */
const PACKAGE_NAMESPACE = 'required-package';

/** A superseded build is removed once it is this old; a process that started from it has loaded it by then. */
const SUPERSEDED_BUILD_GRACE_MS = 60_000;

/** `.build/<entry path, dashed>/`: an entry's builds and the stamp naming the current one. */
function folderOf(entry) {
  return path.join(BUILD_ROOT, entry.replace(/\.[cm]?[jt]s$/, '').replace(/[\\/]/g, '-'));
}

/**
 * The built main module of `entry` (a path relative to the project root),
 * built first if there is no build yet or one of its inputs changed since.
 */
async function builtEntry(entry) {
  const stamp = readStamp(folderOf(entry));
  if (stamp && isCurrent(stamp)) return path.join(ROOT, stamp.main);
  return build(entry);
}

function readStamp(folder) {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, 'stamp.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every input still has the modification time and size it had when the build read it. */
function isCurrent(stamp) {
  for (const [file, mtimeMs, size] of stamp.inputs) {
    const stat = fs.statSync(path.join(ROOT, file), { throwIfNoEntry: false });
    if (!stat || stat.mtimeMs !== mtimeMs || stat.size !== size) return false;
  }
  return fs.existsSync(path.join(ROOT, stamp.main));
}

/**
 * Builds `entry` into a new folder of its own, then points the stamp at it
 * with a rename: processes building at the same time never write the same
 * file, and a reader finds the old stamp or the new one, never half a build.
 */
async function build(entry) {
  const esbuild = require('esbuild');
  const folder = folderOf(entry);
  fs.mkdirSync(folder, { recursive: true });
  const outdir = fs.mkdtempSync(path.join(folder, 'build-'));
  const inputs = new Map(BUILD_SETTINGS.map((file) => [file, statOf(file)]));
  let result;
  try {
    result = await esbuild.build(BROWSER_ENTRIES.has(entry) ? browserOptions(entry, outdir, inputs) : {
      absWorkingDir: ROOT,
      entryPoints: { main: entry },
      outdir,
      bundle: true,
      // node_modules are not bundled: they load from node_modules (see requireExternals).
      packages: 'external',
      platform: 'node',
      // Node 20 is the oldest the package supports; its syntax runs on 24 too.
      target: 'node20',
      // esbuild splits only ES modules: each `import()` (a CLI command) becomes a chunk loaded when it runs.
      format: 'esm',
      splitting: true,
      outExtension: { '.js': '.mjs' },
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      sourcemap: true,
      // Error classes name themselves after their class (src/platform/errors.ts): keep the names.
      keepNames: true,
      metafile: true,
      logLevel: 'error',
      plugins: [requireExternals(), sourceLocations(outdir, inputs)],
    });
  } catch (error) {
    fs.rmSync(outdir, { recursive: true, force: true });
    // esbuild has printed where and why; the caller needs only to stop.
    throw Object.assign(new Error(`cannot build ${entry}: see esbuild's errors above`), { code: 'BUILD_FAILED', cause: error });
  }
  // The metafile lists what the bundle was made of; all of it passed through sourceLocations, but be sure.
  for (const file of Object.keys(result.metafile.inputs)) {
    if (!inputs.has(file) && !file.startsWith(`${PACKAGE_NAMESPACE}:`)) inputs.set(file, statOf(file));
  }
  const main = path.relative(ROOT, path.join(outdir, BROWSER_ENTRIES.has(entry) ? 'main.js' : 'main.mjs'));
  const stamp = { entry, main, inputs: [...inputs].map(([file, stat]) => [file, ...stat]) };
  const temporary = path.join(folder, `stamp.json.${process.pid}`);
  fs.writeFileSync(temporary, JSON.stringify(stamp));
  fs.renameSync(temporary, path.join(folder, 'stamp.json'));
  removeSuperseded(folder, outdir);
  return path.join(ROOT, main);
}

/** How a browser entry is built: one minified ES module for current browsers, its CSS beside it. */
function browserOptions(entry, outdir, inputs) {
  return {
    absWorkingDir: ROOT,
    entryPoints: { main: entry },
    outdir,
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'error',
    plugins: [recordInputs(inputs)],
  };
}

/** Records each file's modification time and size just before esbuild reads it (see sourceLocations). */
function recordInputs(inputs) {
  return {
    name: 'record-inputs',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
        const file = path.relative(ROOT, args.path);
        inputs.set(file, statOf(file));
        return undefined;
      });
    },
  };
}

function statOf(file) {
  const stat = fs.statSync(path.join(ROOT, file));
  return [stat.mtimeMs, stat.size];
}

function removeSuperseded(folder, current) {
  for (const name of fs.readdirSync(folder)) {
    const dir = path.join(folder, name);
    if (!name.startsWith('build-') || dir === current) continue;
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > SUPERSEDED_BUILD_GRACE_MS) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Loads each package with `require`, where its import stands, as tsx and
 * jest do: the same files (a package's CommonJS build, `ajv/dist/2020`
 * without an extension), the same default-export interop, and in the same
 * order (`import './local-env'` in scripts/local.ts must run before the AWS
 * SDK loads). An ES module's `import` of a package would resolve it another
 * way and load every package before any of the bundle's code runs.
 */
function requireExternals() {
  return {
    name: 'require-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path)) return undefined;
        if (args.namespace === PACKAGE_NAMESPACE) return { path: args.path, external: true };
        return { path: args.path, namespace: PACKAGE_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: PACKAGE_NAMESPACE }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * Records each project file's modification time and size just before esbuild
 * reads it (so a file changed after that is seen as changed on the next run),
 * and keeps `__dirname` and `__filename` meaning the source file's location,
 * as under tsx and jest: an ES module has neither, and the bundle sits
 * elsewhere (scripts/local.ts finds the project root through them,
 * src/config/load-partners.ts the partners/ folder).
 */
function sourceLocations(outdir, inputs) {
  return {
    name: 'source-locations',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
        const file = path.relative(ROOT, args.path);
        inputs.set(file, statOf(file));
        if (!/\.[cm]?[jt]s$/.test(args.path)) return undefined;
        const text = fs.readFileSync(args.path, 'utf8');
        const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
        if (!/\b__(dirname|filename)\b/.test(text)) return { contents: text, loader };
        // Every chunk is written straight into outdir, so the source is at the same relative URL from any of them.
        const source = `new URL(${JSON.stringify(path.relative(outdir, args.path).split(path.sep).join('/'))}, import.meta.url)`;
        // Prepended on the source's first line, so the source map's line numbers stay right.
        const located = `import { fileURLToPath as __toPath } from 'node:url'; import { dirname as __parentOf } from 'node:path'; const __filename = __toPath(${source}); const __dirname = __parentOf(__filename);`;
        return { contents: `${located} ${text}`, loader };
      });
    },
  };
}

module.exports = { builtEntry };

function esbuildInstalled() {
  try {
    require.resolve('esbuild');
    return true;
  } catch {
    return false;
  }
}

if (require.main === module) {
  // `npm ci --omit=dev` leaves out esbuild, and tsx with it: nothing there runs the CLI or the scripts.
  if (!esbuildInstalled()) {
    console.log('bin/build.js: esbuild is not installed (dev dependencies left out), nothing built');
  } else {
    Promise.all(ENTRIES.map(build)).then(
      (files) => console.log(`built ${files.map((file) => path.relative(ROOT, file)).join(', ')}`),
      (error) => {
        console.error(`bin/build.js: ${error.code === 'BUILD_FAILED' ? error.message : error.stack}`);
        process.exitCode = 1;
      },
    );
  }
}
