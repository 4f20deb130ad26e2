import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findExecutable, pathDirs } from './executables';
import { freePort } from './ports';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MotoServer {
  readonly endpoint: string;
  /** Clears every emulated resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export class MissingPrerequisiteError extends Error {}

/**
 * moto_server on PATH, else the one dev/setup.sh pip-installed into the project's
 * .venv (npm scripts run from the project root, so that is relative to the cwd).
 */
export function motoServerCommand(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (findExecutable('moto_server', pathDirs(env.PATH))) return 'moto_server';
  const inVenv = path.resolve(cwd, '.venv', 'bin', 'moto_server');
  if (existsSync(inVenv)) return inVenv;
  throw new MissingPrerequisiteError('moto_server is not installed: run `bash dev/setup.sh start` (or pip install "moto[server]")');
}

/**
 * Starts moto_server (the moto project's AWS emulator) on a free loopback port
 * and waits until it answers. Every caller gets its own server, so test suites
 * can run in parallel without sharing state.
 */
export async function startMotoServer(): Promise<MotoServer> {
  const command = motoServerCommand();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A process that exits without stop() (process.exit, a second Ctrl-C in npm start)
  // must not leave the emulator behind: a signal to our pid alone never reaches it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
