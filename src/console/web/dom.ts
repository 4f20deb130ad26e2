/** A child of an element: text (escaped by the DOM, never parsed as HTML), an element, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/**
 * Builds an element. Text always goes in as text nodes, so a file name or an
 * error message from a partner's file can never become markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean | ((event: Event) => void)> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A table with a caption and header row; each row is a list of cells. */
export function table(caption: string, columns: readonly string[], rows: readonly Child[][]): HTMLElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column)))),
    h('tbody', {}, rows.length ? rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell)))) : h('tr', {}, h('td', { colspan: String(columns.length) }, 'none'))),
  );
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status.toLowerCase()}` }, status);
}
