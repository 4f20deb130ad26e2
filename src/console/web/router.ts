/** Path routing: every page is a real URL with its filters in the query string, so a link can be shared. */
export type Page = (main: HTMLElement, url: URL) => Promise<void | (() => void)>;

let render: () => void = () => undefined;

export function navigate(href: string): void {
  history.pushState(null, '', href);
  render();
}

/** Same-origin links move within the page instead of reloading it; downloads and modified clicks behave as usual. */
function onClick(event: MouseEvent): void {
  const link = (event.target as Element | null)?.closest('a');
  if (!link || link.origin !== location.origin || link.hasAttribute('download') || link.pathname.startsWith('/api/')) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
}

export function startRouter(main: HTMLElement, route: (url: URL) => Page): void {
  let leave: void | (() => void);
  let generation = 0;
  render = () => {
    leave?.();
    leave = undefined;
    const mine = ++generation;
    const url = new URL(location.href);
    main.replaceChildren();
    route(url)(main, url).then(
      (cleanup) => {
        if (mine === generation) leave = cleanup;
        else cleanup?.();
        main.focus({ preventScroll: true });
      },
      (error: unknown) => {
        main.replaceChildren(errorBox(error));
      },
    );
  };
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', () => render());
  render();
}

export function errorBox(error: unknown): HTMLElement {
  const box = document.createElement('p');
  box.className = 'error';
  box.setAttribute('role', 'alert');
  const { code, message, hint } = error as { code?: string; message?: string; hint?: string };
  box.textContent = `${code ? `${code}: ` : ''}${message ?? String(error)}${hint ? ` — ${hint}` : ''}`;
  return box;
}
