/**
 * The stack as `sls package --stage test` builds it — the template a deploy
 * would create, not a hand-kept copy — with its IAM roles, resource policies and
 * function timeouts resolved to the concrete names and ARNs the test stack has
 * in moto_server (same stage, moto's account and region). Packaged once per
 * content of serverless.yml, resources/*.yml, the partners plugin and the
 * partner files, and cached in the temp directory, so a run packages at most
 * once per configuration.
 */
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cachedJson, definitionsHash, evaluateConditions, resolveIfs, type CfnTemplate, type Json } from '../../../dev/stack-from-template';
import { output, removeCopies, slsPackage } from '../../deploy/packaging';
import type { FunctionName } from './function-scope';

export const STAGE = 'test';
/** moto_server's account (its default) and the tests' region. */
export const ACCOUNT = '123456789012';
export const REGION = process.env.AWS_REGION ?? 'eu-west-1';
export const PARTITION = 'aws';
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: Json[];
}

export interface PackagedRole {
  readonly logicalId: string;
  readonly arn: string;
  readonly policies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
}

export interface PackagedStack {
  /** The partner configuration it was packaged with (a folder holding partners/). */
  readonly configRoot: string;
  /** The function's Timeout, in milliseconds. */
  timeoutMs(name: FunctionName): number;
  role(name: FunctionName): PackagedRole;
  /** The resource-based policy (bucket, queue or topic policy) that governs `resourceArn`, if any. */
  resourcePolicy(resourceArn: string): PolicyDocument | undefined;
  /** The roles of every function, by function name. */
  roles(): ReadonlyMap<FunctionName, PackagedRole>;
}

const logicalIdOf = (name: FunctionName) => `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`;

async function packageTemplate(configRoot: string): Promise<CfnTemplate> {
  const packaged = await slsPackage('iam', ['--stage', STAGE], (dir) => {
    if (configRoot === PROJECT_ROOT) return;
    rmSync(path.join(dir, 'partners'), { recursive: true, force: true });
    cpSync(path.join(configRoot, 'partners'), path.join(dir, 'partners'), { recursive: true });
  });
  removeCopies();
  if (packaged.result.code !== 0) throw new Error(`sls package --stage ${STAGE} failed:\n${output(packaged.result)}`);
  return packaged.template;
}

/** Resolves CloudFormation intrinsics to the values the resources have in the test stack. */
class Resolver {
  private readonly conditions: Record<string, boolean>;

  constructor(private readonly template: CfnTemplate) {
    this.conditions = evaluateConditions(template);
  }

  resolve(value: Json): Json {
    const node = resolveIfs(value, this.conditions);
    if (Array.isArray(node)) return node.map((item) => this.resolve(item));
    if (node === null || typeof node !== 'object') return node;
    const [key] = Object.keys(node);
    if (Object.keys(node).length === 1 && key === 'Ref') return this.ref(node.Ref);
    if (Object.keys(node).length === 1 && key === 'Fn::GetAtt') {
      const [id, attribute] = Array.isArray(node[key]) ? node[key] : String(node[key]).split('.');
      return this.attribute(id, attribute);
    }
    if (Object.keys(node).length === 1 && key === 'Fn::Sub') return this.sub(node[key]);
    if (Object.keys(node).length === 1 && key === 'Fn::Join') {
      const [separator, items] = node[key] as [string, Json[]];
      return this.resolve(items).join(separator);
    }
    return Object.fromEntries(Object.entries(node).map(([name, item]) => [name, this.resolve(item)]));
  }

  private sub(argument: Json): string {
    const [text, variables = {}] = Array.isArray(argument) ? argument : [argument];
    return (text as string).replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(this.resolve(variables[name]));
      const [id, attribute] = name.split('.');
      return String(attribute ? this.attribute(id!, attribute) : this.ref(id!));
    });
  }

  private properties(id: string): Json {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`the packaged template has no resource ${id}`);
    return this.resolve(resource.Properties ?? {});
  }

  private ref(id: string): string {
    switch (id) {
      case 'AWS::AccountId':
        return ACCOUNT;
      case 'AWS::Region':
        return REGION;
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
    }
    const type = this.template.Resources[id]?.Type;
    const props = () => this.properties(id);
    switch (type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${props().QueueName}`;
      case 'AWS::SNS::Topic':
        return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${props().TopicName}`;
      case 'AWS::DynamoDB::Table':
        return props().TableName;
      case 'AWS::S3::Bucket':
        return props().BucketName;
      case 'AWS::Events::EventBus':
        return props().Name;
      default:
        return id;
    }
  }

  private attribute(id: string, attribute: string): string {
    const type = this.template.Resources[id]?.Type;
    const props = () => this.properties(id);
    const key = `${type} ${attribute}`;
    switch (key) {
      case 'AWS::SQS::Queue Arn':
        return `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${props().QueueName}`;
      case 'AWS::SQS::Queue QueueName':
        return props().QueueName;
      case 'AWS::DynamoDB::Table Arn':
        return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${props().TableName}`;
      case 'AWS::S3::Bucket Arn':
        return `arn:${PARTITION}:s3:::${props().BucketName}`;
      case 'AWS::Events::EventBus Arn':
        return `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/${props().Name}`;
      case 'AWS::Events::EventBus Name':
        return props().Name;
      // Unnamed rules get a generated name; the logical id stands in for it (queue policies name rules by ARN).
      case 'AWS::Events::Rule Arn':
        return `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${this.template.Resources[id]?.Properties?.Name ?? id}`;
      case 'AWS::KMS::Key Arn':
        return `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`;
      case 'AWS::IAM::Role Arn':
        return `arn:${PARTITION}:iam::${ACCOUNT}:role/${props().RoleName ?? id}`;
      case 'AWS::Lambda::Function Arn':
        return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${props().FunctionName}`;
      default:
        throw new Error(`the harness cannot resolve Fn::GetAtt ${id}.${attribute} (${type})`);
    }
  }
}

/** Matches an ARN against a policy Resource pattern (`*` and `?` wildcards). */
function matches(pattern: string, arn: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(arn);
}

function buildStack(template: CfnTemplate, configRoot: string): PackagedStack {
  const resolver = new Resolver(template);
  const functionOf = (name: FunctionName) => {
    const fn = template.Resources[logicalIdOf(name)];
    if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`the packaged template has no function ${name}`);
    return fn.Properties as Json;
  };
  const roles = new Map<FunctionName, PackagedRole>();
  const role = (name: FunctionName): PackagedRole => {
    const known = roles.get(name);
    if (known) return known;
    const roleRef = functionOf(name).Role;
    const logicalId = roleRef?.['Fn::GetAtt']?.[0] as string | undefined;
    if (!logicalId) throw new Error(`function ${name} has no role of its own (Role: ${JSON.stringify(roleRef)})`);
    const properties = resolver.resolve(template.Resources[logicalId]!.Properties);
    const policies = (properties.Policies ?? []).map((policy: Json) => ({ name: policy.PolicyName, policy: policy.PolicyDocument }));
    if (properties.ManagedPolicyArns?.length) throw new Error(`role ${logicalId} has managed policies the harness cannot evaluate`);
    const resolved = { logicalId, arn: resolver.resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }), policies };
    roles.set(name, resolved);
    return resolved;
  };
  // Resource policies: the bucket policy covers the bucket and its objects, queue and topic policies their ARNs.
  const resourcePolicies: { patterns: string[]; policy: PolicyDocument }[] = [];
  for (const resource of Object.values(template.Resources)) {
    const props = () => resolver.resolve(resource.Properties);
    if (resource.Type === 'AWS::S3::BucketPolicy') {
      const bucket = `arn:${PARTITION}:s3:::${props().Bucket}`;
      resourcePolicies.push({ patterns: [bucket, `${bucket}/*`], policy: props().PolicyDocument });
    } else if (resource.Type === 'AWS::SQS::QueuePolicy') {
      const urls = props().Queues as string[];
      resourcePolicies.push({ patterns: urls.map((url) => `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${url.split('/').pop()}`), policy: props().PolicyDocument });
    } else if (resource.Type === 'AWS::SNS::TopicPolicy') {
      resourcePolicies.push({ patterns: props().Topics, policy: props().PolicyDocument });
    }
  }
  return {
    configRoot,
    timeoutMs: (name) => Number(functionOf(name).Timeout) * 1000,
    role,
    resourcePolicy: (arn) => resourcePolicies.find((entry) => entry.patterns.some((pattern) => matches(pattern, arn)))?.policy,
    roles: () => {
      for (const [name] of Object.entries(template.Resources).filter(([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.endsWith('LambdaFunction'))) {
        role((name.charAt(0).toLowerCase() + name.slice(1, -'LambdaFunction'.length)) as FunctionName);
      }
      return roles;
    },
  };
}

const stacks = new Map<string, Promise<PackagedStack>>();

/**
 * The packaged stack for the partner configuration in `configRoot` (default:
 * this project's partners/): the SFTP partners' secrets and the S3 partners'
 * roles depend on it, like a deploy's.
 */
export function packagedStack(configRoot = PROJECT_ROOT): Promise<PackagedStack> {
  let stack = stacks.get(configRoot);
  if (!stack) {
    const name = `${STAGE}-${definitionsHash(PROJECT_ROOT, configRoot)}`;
    stack = cachedJson('partner-ingest-sls-package', name, () => packageTemplate(configRoot)).then((template) => buildStack(template, configRoot));
    stacks.set(configRoot, stack);
  }
  return stack;
}
