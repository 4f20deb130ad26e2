import { BadRequestError } from './errors';

/**
 * A request body as a plain object holding only `allowed` fields: an unknown
 * (or misspelled) field is refused rather than ignored, so a typo can never
 * widen what a request does.
 */
export function requestObject(input: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new BadRequestError('the request must be a JSON object');
  const unknown = Object.keys(input).filter((name) => !allowed.includes(name));
  if (unknown.length) {
    throw new BadRequestError(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => JSON.stringify(name)).join(', ')} (allowed: ${allowed.join(', ')})`);
  }
  return input as Record<string, unknown>;
}
