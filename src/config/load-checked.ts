import { loadPartnerRegistry, defaultConfigLocation, type ConfigLocation, type PartnerRegistry } from './load-partners';

/**
 * loadPartnerRegistry, then the checks that can only run asynchronously: the
 * OpenPGP keys partner files give (signers, reports.encryptTo) are parsed and
 * checked (src/pgp/config-keys.ts). What `sls package` and the `validate`
 * command load through. OpenPGP.js loads only when some feed has keys.
 */
export async function loadCheckedPartnerRegistry(location: ConfigLocation = defaultConfigLocation()): Promise<PartnerRegistry> {
  const registry = loadPartnerRegistry(location);
  const hasKeys = [...registry.partners.values()].some((partner) => partner.feeds.some((feed) => feed.encryption || feed.reports));
  if (hasKeys) {
    // require, not import(): see validate-file.ts (tsx's CommonJS hook, which sls package runs under).
    const { checkPartnerKeys } = require('../pgp/config-keys') as typeof import('../pgp/config-keys');
    await checkPartnerKeys(registry);
  }
  return registry;
}
