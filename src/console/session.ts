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

/**
 * The console's one browser session. The login token printed in the URL is
 * good once: redeeming it yields the session id (an HttpOnly cookie, which
 * page scripts cannot read) and ends the token, so a URL left in a terminal's
 * scrollback or shell history opens nothing later. The CSRF token is a second
 * secret the page reads from GET /api/session (same origin only: the server
 * sends no CORS headers) and sends back as a header on every state-changing
 * request.
 */
export class ConsoleSession {
  private loginToken: string | undefined = secret();
  private sessionId: string | undefined;
  readonly csrfToken = secret();

  /** The token to print once, in the console's URL. */
  get printableToken(): string {
    if (!this.loginToken) throw new Error('the login token has been redeemed');
    return this.loginToken;
  }

  /** The session id for a correct, unused login token; undefined otherwise. */
  redeem(token: string | undefined): string | undefined {
    if (!same(token, this.loginToken)) return undefined;
    this.loginToken = undefined;
    this.sessionId = secret();
    return this.sessionId;
  }

  isSession(cookie: string | undefined): boolean {
    return same(cookie, this.sessionId);
  }

  isCsrfToken(header: string | undefined): boolean {
    return same(header, this.csrfToken);
  }
}
