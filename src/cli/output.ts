/** Where a command writes: its result on stdout, progress and errors on stderr. */
export interface Output {
  stdout(text: string): void;
  stderr: NodeJS.WriteStream;
  /** The terminal's width, when stdout is one (or COLUMNS says): wide tables are fitted to it. */
  columns?: number;
}
