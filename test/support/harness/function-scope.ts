/**
 * Which deployed function is making an AWS call right now. Tests run the
 * functions' cores in-process against one shared set of emulator clients; the
 * harness tags every call with the function whose invocation it belongs to
 * (AsyncLocalStorage follows it through awaits, streams and timers), so the
 * call can be checked against that function's packaged role. Calls outside any
 * invocation (test setup, assertions) belong to no function and are not checked.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The functions of serverless.yml, by their serverless names. */
export const FUNCTION_NAMES = ['ingestFile', 'sendRange', 'sftpPull', 'sftpPushHandoff', 'replay', 'operatorApi', 'checkExpectations'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

const current = new AsyncLocalStorage<FunctionName>();

/** Runs `work` as an invocation of `name`: every AWS call it makes is attributed to that function. */
export function withinFunction<T>(name: FunctionName, work: () => Promise<T>): Promise<T> {
  return current.run(name, work);
}

/** The function whose invocation is running, if any. */
export function currentFunction(): FunctionName | undefined {
  return current.getStore();
}

/** Runs `work` as the test's own code even inside an invocation (e.g. a fault injector that inspects the emulator). */
export function outsideFunction<T>(work: () => T): T {
  return current.exit(work);
}
