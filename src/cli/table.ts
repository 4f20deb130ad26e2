import Table from 'cli-table3';

/** How a wide table is fitted into a terminal. */
export interface FitToWidth {
  /** The terminal's width in characters. */
  readonly width: number;
  /** Columns whose cells are cut with … to fit, in this order, each down to its minimum width. */
  readonly cut: Readonly<Record<string, number>>;
  /** Columns hidden, first to last, when cutting is not enough. */
  readonly hide: readonly string[];
}

type Cell = string | number;

/** cli-table3 pads each cell by one space on either side and draws a border between and around the columns. */
const tableWidth = (widths: readonly number[]) => widths.reduce((sum, width) => sum + width + 2, 0) + widths.length + 1;

/**
 * Renders rows as a terminal table (headers in the first row). With `fit`, the
 * table is no wider than `fit.width` where the columns allow: long cells are cut
 * with …, then columns are hidden, and a last line names what was hidden.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[], fit?: FitToWidth): string {
  const text = rows.map((row) => row.map(String));
  const natural = headers.map((header, column) => Math.max(header.length, ...text.map((row) => row[column]?.length ?? 0)));
  const layout = fit ? fitColumns(headers, natural, fit) : { shown: headers.map((_, column) => column), widths: natural };
  const table = new Table({
    head: layout.shown.map((column) => headers[column]!),
    colWidths: layout.widths.map((width) => width + 2),
    style: { head: [], border: [], compact: true },
  });
  for (const row of text) table.push(layout.shown.map((column) => row[column] ?? ''));
  const hidden = headers.filter((_, column) => !layout.shown.includes(column));
  return hidden.length ? `${table.toString()}\n${hiddenNote(hidden, fit!.width)}` : table.toString();
}

function hiddenNote(hidden: readonly string[], width: number): string {
  const named = `(hidden to fit ${width} columns: ${hidden.join(', ')})`;
  return named.length <= width ? named : `(${hidden.length} columns hidden to fit ${width}; --json shows them)`;
}

/** The columns to show and their widths: the fewest columns hidden that let the cut columns fit. */
function fitColumns(headers: readonly string[], natural: readonly number[], fit: FitToWidth) {
  let layout = { shown: headers.map((_, column) => column), widths: [...natural] };
  for (let hiddenCount = 0; hiddenCount <= fit.hide.length; hiddenCount++) {
    const hidden = new Set(fit.hide.slice(0, hiddenCount));
    const shown = headers.map((_, column) => column).filter((column) => !hidden.has(headers[column]!));
    const widths = shown.map((column) => natural[column]!);
    let excess = tableWidth(widths) - fit.width;
    for (const [header, minimum] of Object.entries(fit.cut)) {
      const at = shown.findIndex((column) => headers[column] === header);
      if (excess <= 0 || at < 0) continue;
      const cut = Math.min(excess, Math.max(0, widths[at]! - Math.max(minimum, header.length)));
      widths[at]! -= cut;
      excess -= cut;
    }
    layout = { shown, widths };
    if (excess <= 0) break;
  }
  return layout;
}
