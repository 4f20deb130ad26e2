/** The console's JSON API, called from its own page: the session cookie goes along, every change carries the CSRF header. */
export interface Session {
  readonly csrfToken: string;
  readonly stage: string;
  readonly region: string;
  readonly actor: string;
}

/** An answer the API refused: its stable code, message and hint, shown as they are. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

let session: Session | undefined;

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T & { code?: string; message?: string; hint?: string };
  if (!response.ok) throw new ApiError(response.status, body.code ?? 'FAILED', body.message ?? response.statusText, body.hint);
  return body;
}

export async function startSession(): Promise<Session> {
  session = await answer<Session>(await fetch('/api/session', { credentials: 'same-origin' }));
  return session;
}

export async function get<T>(path: string): Promise<T> {
  return answer<T>(await fetch(`/api${path}`, { credentials: 'same-origin' }));
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(`/api${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session!.csrfToken },
      body: JSON.stringify(body),
    }),
  );
}
