import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it (Linux). `started` (clock ticks after boot) tells it from a later process given the same pid. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly started: string;
  /** Exited, not yet reaped by its parent: not running. */
  readonly zombie: boolean;
  readonly command: string;
}

function read(pid: string): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command, which is in parentheses and may hold spaces: state ppid pgrp … starttime (field 22).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid: Number(pid), ppid: Number(fields[1]), pgid: Number(fields[2]), started: fields[19]!, zombie: fields[0] === 'Z', command };
  } catch {
    return undefined; // exited while being read
  }
}

export function processTable(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => read(pid) ?? []);
}

/** The processes below `root` (its children, theirs, …) as they are now. */
export function descendantsOf(root: number, table = processTable()): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (let parents = [root]; parents.length; ) {
    const children = table.filter((proc) => parents.includes(proc.ppid));
    found.push(...children);
    parents = children.map((proc) => proc.pid);
  }
  return found;
}

/**
 * Every process seen below `root` while it ran, sampled until stop(): a child
 * orphaned on the way out (re-parented, no longer below root) is still on the list.
 */
export function watchDescendants(root: number, everyMs = 100) {
  const seen = new Map<string, ProcessInfo>();
  const sample = () => {
    for (const proc of descendantsOf(root)) seen.set(`${proc.pid}/${proc.started}`, proc);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    seen: () => [...seen.values()],
    stop: () => clearInterval(timer),
  };
}

/** Which of these processes still run: the same pid and start time, not a zombie. */
export function stillRunning(procs: readonly ProcessInfo[]): ProcessInfo[] {
  return procs.filter((proc) => {
    const now = read(String(proc.pid));
    return now !== undefined && now.started === proc.started && !now.zombie;
  });
}
