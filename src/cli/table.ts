import Table from 'cli-table3';

/** Renders rows as a terminal table (headers in the first row). */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const table = new Table({ head: [...headers], style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}
