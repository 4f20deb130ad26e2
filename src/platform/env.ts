/** A setting serverless.yml must provide; a missing one fails the cold start by name. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A whole-number setting with a default; anything else fails the cold start by name. */
export function numberEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`environment variable ${name} must be a whole number, not "${text}"`);
  return value;
}
