import './style.css';
import { startSession } from './api';
import { h } from './dom';
import { batchPage } from './pages/batch';
import { batchesPage } from './pages/batches';
import { deadLettersPage } from './pages/dead-letters';
import { overviewPage } from './pages/overview';
import { errorBox, startRouter, type Page } from './router';

function route(url: URL): Page {
  if (/^\/batches\/[0-9a-f]{32}$/.test(url.pathname)) return batchPage;
  if (url.pathname === '/batches') return batchesPage;
  if (url.pathname === '/dead-letters') return deadLettersPage;
  return overviewPage;
}

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  try {
    const session = await startSession();
    const main = h('main', { id: 'main', tabindex: '-1' });
    app.replaceChildren(
      h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
      h(
        'header',
        {},
        h('strong', {}, 'partner-ingest'),
        h('nav', { 'aria-label': 'Pages' }, h('a', { href: '/' }, 'Overview'), h('a', { href: '/batches' }, 'Batches'), h('a', { href: '/dead-letters' }, 'Dead letters')),
        h('span', { class: 'who' }, `stage ${session.stage} (${session.region}) as ${session.actor}`),
      ),
      main,
    );
    startRouter(main, route);
  } catch (error) {
    app.replaceChildren(errorBox(error));
  }
}

void start();
