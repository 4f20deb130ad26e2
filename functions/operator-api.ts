import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handleOperatorRequest } from '../src/operations/api';
import { operatorRuntime } from '../src/operations/runtime';

/** The operator HTTP API (API Gateway REST API, IAM-authorized on every route). */
export const handler = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> =>
  handleOperatorRequest(event, { operator: operatorRuntime(), remainingMs: () => context.getRemainingTimeInMillis() });
