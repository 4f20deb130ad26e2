/**
 * How the service's AWS clients are configured, kept apart from the SDK: a
 * module that creates only the clients it needs (the CLI's stage connection)
 * loads only their packages and configures them as createAwsClients does.
 */
export interface ClientOptions {
  readonly region?: string;
  /** A local emulator such as moto_server; defaults to AWS_ENDPOINT_URL, which the SDK also honours. */
  readonly endpoint?: string;
}

export function clientSettings(options: ClientOptions = {}) {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const common = { region: options.region ?? process.env.AWS_REGION, ...(endpoint ? { endpoint } : {}) };
  return {
    common,
    /** Against an emulator, S3 uses path-style addressing (no bucket DNS names). */
    s3: { ...common, forcePathStyle: Boolean(endpoint) },
    documentClient: { marshallOptions: { removeUndefinedValues: true } },
  };
}
