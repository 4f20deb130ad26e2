/**
 * Grants of the functions' roles that stay although no test call uses them, each
 * with its reason (serverless.yml says the same beside the statement). Keyed
 * `<role>/<statement Sid>/<action>`.
 */
export const KEPT_GRANTS: Readonly<Record<string, string>> = {};
