import { defaultConfigLocation, loadPartnerRegistry } from '../config/load-partners';
import { consoleAssets } from '../console/assets';
import { consoleApiDeps } from '../console/connect';
import { startConsole } from '../console/server';
import { ExitCode, UsageError } from './errors';
import type { Output } from './output';
import { closeStage, parseCommand, stageFrom } from './stage-options';

/**
 * Starts the operator console on 127.0.0.1 and prints its URL with a login token; it
 * calls AWS with the operator's own credentials until Ctrl-C.
 */
export async function consoleCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, { port: { type: 'string', default: '0' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) throw new UsageError(`--port must be a port number (0 for a free one), got "${values.port}"`);
  const stage = await stageFrom(values);
  try {
    const api = consoleApiDeps(stage, loadPartnerRegistry(defaultConfigLocation()), values['endpoint-url']);
    const running = await startConsole({
      api,
      assets: await consoleAssets(),
      port: Number(values.port),
    });
    output.stdout(
      values.json
        ? `${JSON.stringify({ url: running.url, stage: stage.stage, actor: stage.actor })}\n`
        : `console for stage ${stage.stage} (${stage.region}) as ${stage.actor}\n  open ${running.url}\n(the link works until the console stops, in any tab; Ctrl-C stops it)\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await running.close();
    api.cloudWatch.destroy();
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}
