// Environment for running the service on this machine; imported first so the
// AWS SDK and Powertools see it when their modules load.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
process.env.AWS_REGION ??= 'eu-west-1';
// EMF metrics go to CloudWatch through Lambda's stdout; locally they are noise.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
