import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from './ports';
import { setTimeout as sleep } from 'node:timers/promises';
import { resourceEnvironment, type StackResources } from '../src/platform/stage-resources';

export interface OfflineServer {
  /** The operator REST API (API Gateway emulation). */
  readonly api: string;
  /** The Lambda invoke API (`aws lambda invoke --endpoint-url`). */
  readonly lambdaApi: string;
  /** osls's recent output, for error messages. */
  output(): string;
  /**
   * Invokes a function synchronously through the Lambda invoke API (as
   * `aws lambda invoke` would); `functionError` is Lambda's X-Amz-Function-Error.
   */
  invoke(functionName: string, payload: unknown, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ payload: unknown; functionError: string | null }>;
  stop(): Promise<void>;
}

export interface OfflineOptions {
  /** Folder with serverless.yml (serverless-esbuild writes .esbuild/ into it). */
  readonly serviceDir: string;
  readonly stage: string;
  /** The emulator the functions talk to, and the stage's resources in it. */
  readonly endpoint: string;
  readonly resources: StackResources;
  /** Where the functions find partners/ and schemas/ (offline sets LAMBDA_TASK_ROOT to /var/task). */
  readonly configRoot: string;
  /**
   * Also run the triggers serverless-offline lacks (serverless.yml's
   * `custom.pluginSets.localTriggers`): ingestFile on the file-events queue
   * (serverless-offline-sqs). Off by default: a caller that drains the queue
   * itself (test/deploy/operator-api-offline.test.ts) must not race a poller.
   */
  readonly triggers?: boolean;
  /** Called with each line osls prints (stdout and stderr), e.g. the functions' logs. */
  readonly onLine?: (line: string) => void;
  readonly extraEnv?: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
  /** Gives up starting (stopping what was spawned, rejecting with the signal's reason): npm start's Ctrl-C. */
  readonly signal?: AbortSignal;
}

/**
 * Runs the service's functions with serverless-offline (osls), wired to a local
 * emulator: serverless.yml's `resourceSettings=environment` param makes the
 * functions read resource names from these variables instead of `!Ref`s.
 * serverless-offline serves the HTTP API and Lambda invokes; it checks no IAM
 * authorization. With `triggers` it also runs ingestFile on the file-events
 * queue (serverless-offline-sqs); it runs no schedules (see scripts/local.ts).
 */
export async function startServerlessOffline(options: OfflineOptions): Promise<OfflineServer> {
  const [httpPort, lambdaPort] = await Promise.all([freePort(), freePort()]);
  const api = `http://127.0.0.1:${httpPort}`;
  const lambdaApi = `http://127.0.0.1:${lambdaPort}`;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && name !== 'PARTNER_INGEST_OFFLINE_TRIGGERS'),
  );
  const { resources } = options;
  const child: ChildProcess = spawn(
    'npx',
    ['sls', 'offline', 'start', '--stage', options.stage, '--param', 'resourceSettings=environment', '--localEnvironment',
      '--host', '127.0.0.1', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), '--noPrependStageInUrl'],
    {
      cwd: options.serviceDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...inherited,
        // serverless-offline hands every AWS_* variable to the functions.
        AWS_ENDPOINT_URL: options.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: process.env.AWS_REGION ?? 'eu-west-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        // Never a developer's real profile: the functions talk to the emulator only.
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
        AWS_CONFIG_FILE: '/nonexistent/config',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...resourceEnvironment(resources),
        PARTNER_INGEST_CONFIG_ROOT: options.configRoot,
        POWERTOOLS_METRICS_DISABLED: 'true',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        ...(options.triggers
          ? {
              PARTNER_INGEST_OFFLINE_TRIGGERS: 'localTriggers',
              // serverless-offline-sqs polls with the AWS SDK v2, which prints its end-of-support notice otherwise.
              AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
            }
          : {}),
        ...options.extraEnv,
      },
    },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  if (options.onLine) {
    const onLine = options.onLine;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => onLine(line));
    }
  }
  /** Signals the whole process group (npx, osls, esbuild); false when none is left. */
  const signal = (name: NodeJS.Signals | 0) => {
    try {
      process.kill(-child.pid!, name);
      return true;
    } catch {
      return false;
    }
  };
  const killOnExit = () => signal('SIGKILL');
  process.once('exit', killOnExit);
  // The exit hook stays until the group is gone: a process.exit while osls is
  // still shutting down (a second Ctrl-C in npm start) kills what is left.
  const stop = async () => {
    if (signal('SIGTERM')) {
      for (const deadline = Date.now() + 10_000; signal(0); await sleep(100)) {
        if (Date.now() > deadline) {
          signal('SIGKILL');
          break;
        }
      }
    }
    process.removeListener('exit', killOnExit);
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (const url of [`${api}/__ready`, `${lambdaApi}/__ready`]) {
    for (;;) {
      if (options.signal?.aborted) {
        await stop();
        throw options.signal.reason;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        await stop();
        throw new Error(`serverless-offline exited (${child.exitCode ?? child.signalCode}):\n${output}`);
      }
      try {
        await fetch(url, { signal: AbortSignal.timeout(1_000) }); // any answer means it is listening
        break;
      } catch {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`serverless-offline did not start; its output:\n${output}`);
        }
        await sleep(250);
      }
    }
  }
  const invoke: OfflineServer['invoke'] = async (functionName, payload, { timeoutMs = 900_000, signal } = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const response = await fetch(`${lambdaApi}/2015-03-31/functions/${functionName}/invocations`, {
      method: 'POST',
      body: JSON.stringify(payload),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`invoking ${functionName}: HTTP ${response.status} ${text}`);
    return { payload: text ? (JSON.parse(text) as unknown) : null, functionError: response.headers.get('x-amz-function-error') };
  };
  return { api, lambdaApi, output: () => output, invoke, stop };
}
