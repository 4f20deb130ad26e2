// Preloaded with `node --require` by test/cli/startup.test.ts: at exit, writes
// every CommonJS module the process loaded to $LOADED_MODULES_FILE, one path a
// line. The built CLI loads every package with require (bin/build.js,
// requireExternals), so a package the process loaded is listed here.
const { writeFileSync } = require('node:fs');

process.on('exit', () => writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require.cache).join('\n')));
