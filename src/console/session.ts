import { randomBytes, timingSafeEqual } from 'node:crypto';

function secret(): string {
  return randomBytes(32).toString('base64url');
}

function same(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compared in constant time, so a local process timing answers learns nothing about the secret.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Sessions kept at most; the oldest goes first (each sign-in of a browser profile makes one). */
const MAX_SESSIONS = 64;

/**
 * The console's browser sessions. The login token printed in the URL is good
 * for the console process's lifetime (as Jupyter's is), so a second tab,
 * window or browser can open the same URL without a restart; redeeming it
 * yields a session id (an HttpOnly cookie, which page scripts cannot read),
 * and the server redirects to a token-free URL so the token does not stay in
 * the address bar or the browser history. Ctrl-C ends the token with the
 * process. The CSRF token is a second secret the page reads from GET
 * /api/session (same origin only: the server sends no CORS headers) and sends
 * back as a header on every state-changing request.
 */
export class ConsoleSession {
  readonly loginToken = secret();
  readonly csrfToken = secret();
  private readonly sessionIds: string[] = [];

  /** A new session id for the correct login token; undefined otherwise. */
  redeem(token: string | undefined): string | undefined {
    if (!same(token, this.loginToken)) return undefined;
    const sessionId = secret();
    this.sessionIds.push(sessionId);
    if (this.sessionIds.length > MAX_SESSIONS) this.sessionIds.shift();
    return sessionId;
  }

  isSession(cookie: string | undefined): boolean {
    // Every id is compared (no early exit), so the time taken says nothing about which matched.
    return this.sessionIds.reduce((found, id) => same(cookie, id) || found, false);
  }

  isCsrfToken(header: string | undefined): boolean {
    return same(header, this.csrfToken);
  }
}
