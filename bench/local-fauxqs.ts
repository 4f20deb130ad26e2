/**
 * Starts bench/fauxqs-server.mjs (the fauxqs SQS emulator on a free loopback
 * port) as a child process and talks to it: its endpoint, and its own CPU
 * seconds, so a bench can report the emulator's share of the machine apart
 * from the sender's. The child runs on the node that runs the bench unless
 * FAUXQS_NODE names another (fauxqs 1.9 runs on Node 20 and 24).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';

export interface LocalFauxqs {
  readonly endpoint: string;
  readonly pid: number;
  /** User + system CPU seconds the emulator has used since it started. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

function nextLine(lines: Interface, child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`fauxqs exited (code ${code}) before answering`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
}

export async function startFauxqs(): Promise<LocalFauxqs> {
  const node = process.env.FAUXQS_NODE || process.execPath;
  const child = spawn(node, [path.join(__dirname, 'fauxqs-server.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.on('data', (data: Buffer) => process.stderr.write(`fauxqs: ${data}`));
  const lines = createInterface({ input: child.stdout });
  const { port } = JSON.parse(await nextLine(lines, child)) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async cpuSeconds() {
      const answer = nextLine(lines, child);
      child.stdin.write('cpu\n');
      return (JSON.parse(await answer) as { cpuSeconds: number }).cpuSeconds;
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      });
    },
  };
}
