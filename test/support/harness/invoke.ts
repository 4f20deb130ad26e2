/**
 * Runs a function's core in-process as Lambda would run the deployed function:
 * its AWS calls attributed to it (for the IAM check) and a context whose
 * remaining time starts at the function's timeout as packaged — not a constant
 * picked by the test. A test that needs the function to run out of time uses a
 * clock that advances with the work (`spendPerRead`), never the machine's speed.
 */
import type { Context } from 'aws-lambda';
import { localContext, pumpOnce, type PumpOptions } from '../../../dev/queue-pump';
import { withinFunction, type FunctionName } from './function-scope';
import { packageRolesWith } from './iam-check';
import { packagedStack } from './packaged-stack';

/** How an invocation's remaining time moves, given the function's timeout. */
export type Clock = (timeoutMs: number) => () => number;

/** Lambda's own: the timeout counting down in real time (what a deployed function sees). */
export const realClock: Clock = (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  return () => Math.max(0, deadline - Date.now());
};

/**
 * Every read of the remaining time spends `stepMs` of it: the function runs out
 * after a fixed number of reads — the validation pass reads it every 4096
 * records, the sender before every chunk — whatever the machine's speed.
 */
export function spendPerRead(stepMs: number): Clock {
  return (timeoutMs) => {
    let left = timeoutMs;
    return () => (left = Math.max(0, left - stepMs));
  };
}

export interface InvokeOptions {
  readonly clock?: Clock;
  /** The partner configuration the function is packaged with (default: the project's partners/). */
  readonly configRoot?: string;
}

/** A context for one invocation of `name`, with its packaged timeout (which no partner file changes). */
export async function contextOf(name: FunctionName, options: InvokeOptions = {}): Promise<Context> {
  const timeoutMs = (await packagedStack()).timeoutMs(name);
  return localContext(name, timeoutMs, (options.clock ?? realClock)(timeoutMs));
}

/** One invocation of `name`: `work` gets the context, and every AWS call it makes is `name`'s. */
export async function invoke<T>(name: FunctionName, work: (context: Context) => Promise<T>, options: InvokeOptions = {}): Promise<T> {
  packageRolesWith(options.configRoot);
  const context = await contextOf(name, options);
  return withinFunction(name, () => work(context));
}

/**
 * What Lambda's SQS event source mapping does once, for function `name`: receive,
 * invoke, delete what the handler did not report as failed. The mapping polls
 * with the function's role, so its receives and deletes are the function's calls.
 */
export function pumpAs(name: FunctionName, options: Omit<PumpOptions, 'context' | 'timeoutMs'>, invokeOptions: InvokeOptions = {}): Promise<number> {
  return invoke(name, (context) => pumpOnce({ ...options, context }), invokeOptions);
}
