import { constants } from 'node:os';

interface Child {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * How `npm start` ends. SIGINT or SIGTERM, sent to its process alone (`kill PID`)
 * or to the terminal's whole foreground group (Ctrl-C), aborts `signal`: start-ups
 * and loops give up, and stopAll() stops every child, newest first, saying which.
 * serverless-offline runs in a process group of its own, so only stopAll() reaches
 * it (and its Lambda workers, esbuild). A second signal does not wait: the process
 * exits at once, and the children's exit hooks (dev/moto-server.ts, dev/sshd.ts,
 * dev/serverless-offline.ts) SIGKILL what is left.
 */
export class LocalShutdown {
  private readonly controller = new AbortController();
  /** In start order; a child is here from the moment its start begins until it is stopped. */
  private readonly children: Child[] = [];
  /** Aborted by the first signal. */
  readonly signal = this.controller.signal;
  private announced = false;

  constructor(private readonly say: (line: string) => void) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get requested(): boolean {
    return this.signal.aborted;
  }

  /**
   * Registers a child as its start begins, so a signal during the start-up stops
   * it too: stopping waits for the start to settle, then stops what it started.
   * A start that fails is forgotten (it cleans up after itself).
   */
  starting<T>(name: string, start: Promise<T>, stop: (started: T) => Promise<void>): Promise<T> {
    const child: Child = { name, stop: () => start.then(stop, () => undefined) };
    this.children.push(child);
    start.catch(() => this.forget(child));
    return start;
  }

  /** Stops every child, newest first (serverless-offline before the emulator its functions call). */
  async stopAll(): Promise<void> {
    this.announce();
    if (this.announced) {
      for (const child of [...this.children].reverse()) {
        try {
          await child.stop();
        } catch (error) {
          this.say(`  ${child.name} did not stop cleanly: ${String(error)}`);
        }
        this.forget(child);
      }
      this.say('stopped');
    }
    // Nothing is left to stop: a later signal may end the process the default way.
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }

  private readonly onSignal = (name: NodeJS.Signals) => {
    if (!this.requested) {
      this.say(`\n${name} received (${name} again kills at once)`);
      this.announce();
      this.controller.abort(new Error(`${name} received`));
      return;
    }
    this.say(`${name} again: killing ${this.names() || 'nothing left'} now`);
    process.exit(128 + constants.signals[name]);
  };

  /**
   * Says what is being stopped, once: when the signal comes (a child still
   * starting is named too; it is stopped once its start gives up), or when the
   * run is over.
   */
  private announce(): void {
    if (this.announced || !this.children.length) return;
    this.announced = true;
    this.say(`stopping: ${this.names()} …`);
  }

  private names(): string {
    return [...this.children].reverse().map((child) => child.name).join(', ');
  }

  private forget(child: Child): void {
    const at = this.children.indexOf(child);
    if (at !== -1) this.children.splice(at, 1);
  }
}
