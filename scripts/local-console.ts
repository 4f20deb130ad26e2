import { loadPartnerRegistry } from '../src/config/load-partners';
import { consoleAssets } from '../src/console/assets';
import { consoleApiDeps } from '../src/console/connect';
import { startConsole } from '../src/console/server';
import { connectStage } from '../src/operations/stage';

export interface LocalConsole {
  /** The URL to open, with its login token (good until the console stops). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The operator console over the local stack, as `partner-ingest console
 * --stage local --endpoint-url …` would start it; `configRoot` is the partner
 * configuration the local functions run with (dry runs validate with it).
 */
export async function startLocalConsole(options: { stage: string; region: string; endpoint: string; configRoot: string }): Promise<LocalConsole> {
  const connection = await connectStage({ stage: options.stage, region: options.region, endpoint: options.endpoint });
  const api = consoleApiDeps(connection, loadPartnerRegistry({ root: options.configRoot }), options.endpoint);
  const running = await startConsole({ api, assets: await consoleAssets() });
  return {
    url: running.url,
    stop: async () => {
      await running.close();
      for (const client of [...Object.values(connection.clients), api.cloudWatch]) client.destroy();
    },
  };
}
