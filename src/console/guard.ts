import type { IncomingMessage } from 'node:http';
import { ConsoleRefusal } from './errors';
import type { ConsoleSession } from './session';

/** The header every state-changing request carries (see ConsoleSession). */
export const CSRF_HEADER = 'x-csrf-token';

/** Cookies are not scoped by port: the name carries it, so two consoles on one machine keep their own sessions. */
export function sessionCookieName(port: number): string {
  return `partner_ingest_console_${port}`;
}

export function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The origins the console answers as: the loopback address it listens on, and localhost on the same port. */
export function ownOrigins(port: number): readonly string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/**
 * Refuses a request that does not come from the console's own page: a Host
 * other than its loopback address (a DNS-rebinding page names its own host),
 * an Origin of another site or port, or a browser's cross-site fetch. Run on
 * every request, before any other rule.
 */
export function checkOrigin(request: IncomingMessage, port: number): void {
  const hosts = ownOrigins(port).map((origin) => origin.slice('http://'.length));
  if (!hosts.includes(request.headers.host ?? '')) {
    throw new ConsoleRefusal(421, 'BAD_HOST', `this console answers only as ${hosts.join(' or ')}`);
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !ownOrigins(port).includes(origin)) {
    throw new ConsoleRefusal(403, 'CROSS_ORIGIN', `requests from ${origin} are refused`);
  }
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    // same-site covers another port of 127.0.0.1: a different origin all the same. A top-level navigation typed or opened from a terminal is "none".
    throw new ConsoleRefusal(403, 'CROSS_ORIGIN', `a ${site} request is refused`);
  }
}

/** An API request needs the session cookie; one that changes anything also needs the CSRF header. */
export function checkApiRequest(request: IncomingMessage, port: number, session: ConsoleSession): void {
  if (!session.isSession(cookieOf(request, sessionCookieName(port)))) {
    throw new ConsoleRefusal(401, 'NO_SESSION', 'no console session: open the URL `partner-ingest console` printed');
  }
  const method = request.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return;
  const header = request.headers[CSRF_HEADER];
  if (!session.isCsrfToken(Array.isArray(header) ? undefined : header)) {
    throw new ConsoleRefusal(403, 'NO_CSRF_TOKEN', `a ${method} needs the ${CSRF_HEADER} header GET /api/session gives`);
  }
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json(;|$)/i.test(type)) {
    throw new ConsoleRefusal(415, 'NOT_JSON', 'the request body must be application/json');
  }
}
