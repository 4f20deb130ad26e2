// A fauxqs SQS emulator on a free loopback port, for bench/send.bench.ts. Run as its own
// process so its CPU is not the sender's: it prints {"port":N} once listening, answers a
// "cpu" line on stdin with its own CPU seconds so far, and exits when stdin closes.
// ESM because fauxqs is ESM-only; plain node (20 or 24), no tsx.
import { createInterface } from 'node:readline';
import { buildApp } from 'fauxqs';

// startFauxqs() listens on every interface; buildApp() lets us bind 127.0.0.1 only.
const app = buildApp({ logger: false });
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() !== 'cpu') return;
    const used = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (used.user + used.system) / 1e6 })}\n`);
  })
  .on('close', () => {
    app.close().finally(() => process.exit(0));
  });
