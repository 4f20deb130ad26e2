import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SftpCredentialsError } from './errors';

export type SftpLogin = { readonly privateKey: string; readonly passphrase?: string } | { readonly password: string };

/**
 * Reads a partner's SFTP login from Secrets Manager by reference. The value is
 * cached briefly by Powertools and never logged; errors name the secret, not its content.
 */
export async function loadSftpLogin(secrets: SecretsProvider, secretRef: string): Promise<SftpLogin> {
  let value: unknown;
  try {
    value = await secrets.get(secretRef, { maxAge: 300, transform: 'json' });
  } catch (error) {
    throw new SftpCredentialsError(secretRef, `cannot be read (${(error as Error).name}: ${(error as Error).message})`);
  }
  const login = value as Record<string, unknown> | undefined;
  if (login && typeof login.privateKey === 'string' && login.privateKey.includes('PRIVATE KEY')) {
    return typeof login.passphrase === 'string'
      ? { privateKey: login.privateKey, passphrase: login.passphrase }
      : { privateKey: login.privateKey };
  }
  if (login && typeof login.password === 'string' && login.password !== '') return { password: login.password };
  throw new SftpCredentialsError(secretRef, 'must be JSON with "privateKey" (PEM) or "password"');
}
