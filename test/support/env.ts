// Quiet, deterministic defaults for every test file. AWS settings point nowhere
// real: integration suites set AWS_ENDPOINT_URL to their own moto_server.
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'partner-ingest';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'PartnerIngest';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
