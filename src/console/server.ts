import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApi, type ConsoleApiDeps } from './api';
import { ConsoleRefusal } from './errors';
import { checkApiRequest, checkOrigin, sessionCookieName } from './guard';
import { ConsoleSession } from './session';

/** A file the console serves as it is (the page's bundle and style sheet), by path. */
export interface ConsoleAsset {
  readonly contentType: string;
  readonly body: Buffer | string;
}

export interface ConsoleOptions {
  readonly api: ConsoleApiDeps;
  /** The front end: /main.js, /main.css… (index.html is the server's own). */
  readonly assets: ReadonlyMap<string, ConsoleAsset>;
  /** 0 (the default): a free port. */
  readonly port?: number;
}

export interface RunningConsole {
  /** The URL to open, with the login token (good until the console stops). */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * No script or style but the console's own files, nothing framed, nothing
 * posted elsewhere: an injected string in a batch's data can neither run nor
 * send anything away.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  // The login token is in the first URL: never passed on as a referrer.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>partner-ingest console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/main.css">
<script type="module" src="/main.js"></script>
</head>
<body><div id="app">Loading…</div></body>
</html>
`;

/** A wrong token (mistyped, or from a console since restarted): what happened and what to do, with nothing from the request echoed. */
const BAD_TOKEN_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>partner-ingest console: wrong token</title></head>
<body>
<h1>This console link's token is wrong</h1>
<p>The token is not the one this console printed: it was mistyped, or it belongs to a console that has since been restarted.</p>
<p>Open the URL <code>partner-ingest console</code> (or <code>npm start</code>) printed when it started.</p>
</body>
</html>
`;

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, ...headers });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ConsoleRefusal(413, 'TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (!size) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ConsoleRefusal(400, 'NOT_JSON', 'the request body is not JSON');
  }
}

/**
 * The operator console's web server: loopback only, one browser session
 * opened by the login token in the printed URL, a JSON API over the
 * operations core called with the operator's own credentials. See guard.ts for
 * the rules every request passes first.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const session = new ConsoleSession();
  let port = 0;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof ConsoleRefusal) {
        sendJson(response, error.status, { code: error.code, message: error.message });
        return;
      }
      // An unexpected failure (AWS refused, the network…): its message, no stack, and the console stays up.
      process.stderr.write(`partner-ingest console: ${(error as Error).stack ?? String(error)}\n`);
      if (!response.headersSent) sendJson(response, 502, { code: 'FAILED', message: (error as Error).message ?? String(error) });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    checkOrigin(request, port);
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    const method = request.method ?? 'GET';
    if (url.pathname.startsWith('/api/')) {
      checkApiRequest(request, port, session);
      if (url.pathname === '/api/session' && method === 'GET') {
        sendJson(response, 200, { csrfToken: session.csrfToken, stage: options.api.stage, region: options.api.region, actor: options.api.actor });
        return;
      }
      const body = method === 'GET' || method === 'HEAD' ? undefined : await readJson(request);
      const answer = await handleApi({ method, path: url.pathname.slice('/api'.length), query: url.searchParams, body }, options.api);
      if ('location' in answer) {
        send(response, 303, 'text/plain; charset=utf-8', 'see the download link', { location: answer.location });
      } else {
        sendJson(response, answer.status, answer.body);
      }
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new ConsoleRefusal(405, 'BAD_METHOD', `${method} is not served here`);
    if (url.searchParams.has('token')) {
      const sessionId = session.redeem(url.searchParams.get('token') ?? undefined);
      if (!sessionId) {
        // A person followed a link: an HTML page saying what to do, not JSON.
        send(response, 401, 'text/html; charset=utf-8', BAD_TOKEN_HTML);
        return;
      }
      // The cookie replaces the token; the redirect takes the token out of the address bar and the history.
      send(response, 303, 'text/plain; charset=utf-8', 'signed in', {
        'set-cookie': `${sessionCookieName(port)}=${sessionId}; HttpOnly; SameSite=Strict; Path=/`,
        location: '/',
      });
      return;
    }
    const asset = options.assets.get(url.pathname);
    if (asset) {
      send(response, 200, asset.contentType, asset.body);
      return;
    }
    // Any other path is a page of the front end's router (a shared link): the same index.html.
    if (url.pathname.includes('.')) throw new ConsoleRefusal(404, 'NO_ROUTE', `no file ${url.pathname}`);
    send(response, 200, 'text/html; charset=utf-8', INDEX_HTML);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: nothing off this machine can reach the console.
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${session.loginToken}`,
    origin,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
