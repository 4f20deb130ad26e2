import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadPartnerRegistry, defaultConfigLocation } from '../config/load-partners';
import { operatorDeps as operatorDepsOf, type OperatorDeps } from '../operations/deps';
import { connectStage, type StageConnection } from '../operations/stage';
import { UsageError } from './errors';

const STAGE_OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

/** Parses a command's arguments with the shared stage options; bad usage is a UsageError. */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...STAGE_OPTIONS, ...options } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export interface StageValues {
  stage?: string;
  region?: string;
  'endpoint-url'?: string;
}

/** Connects to the stage named on the command line (credentials come from the usual AWS sources). */
export async function stageFrom(values: StageValues): Promise<StageConnection> {
  const stage = values.stage ?? process.env.PARTNER_INGEST_STAGE;
  if (!stage) throw new UsageError('--stage is required (or set PARTNER_INGEST_STAGE)');
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(stage)) throw new UsageError(`--stage "${stage}" is not a valid stage name`);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('--region is required (or set AWS_REGION)');
  return connectStage({ stage, region, ...(values['endpoint-url'] ? { endpoint: values['endpoint-url'] } : {}) });
}

/** What operator commands need over a stage (replays are queued for the stage's ingestFile, never run here). */
export function operatorDeps(connection: StageConnection): OperatorDeps {
  return operatorDepsOf(connection.clients, connection.resources, loadPartnerRegistry(defaultConfigLocation()));
}

export function closeStage(connection: StageConnection): void {
  for (const client of Object.values(connection.clients)) client.destroy();
}
