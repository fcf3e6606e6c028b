// The IAM proof: every role in infra/ rendered for a sample account, region
// and prefix, and concrete requests evaluated offline - what AWS will call
// with each role must be allowed, what it must never do must be denied, and
// every action a role is granted must be one of the calls it makes.
//
// What AWS calls:
// - DeployRole: the permissions CloudFormation's resource handlers list for
//   each resource type of infra/service.yaml (setup/lib/aws/cfn-handler-permissions.json,
//   copied from CloudFormation's registry schemas; its _source says from where);
// - the CodeBuild roles: the calls each buildspec command makes (annotated
//   "# AWS calls:" beside the command) and what CodeBuild does for the project;
// - PipelineRole: what each action of the pipeline, as rendered, needs;
// - ExecutionRole: what ECS does to start a task, within its boundary.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CODE_DIR } from "../setup/lib/context.ts";
import { reportGroupNames } from "../setup/lib/aws/naming.ts";
import type { Template } from "../setup/lib/aws/templates.ts";
import {
  ARN,
  decide,
  type Decision,
  grantedActions,
  mayAssume,
  type PolicyDocument,
  renderPipeline,
  renderService,
  type RenderedRole,
  type Request,
  roleOf,
  SAMPLE,
  SENDS_SOURCE_ACCOUNT,
  tagged,
  tagging,
} from "./support/iam.ts";

const handlerData = JSON.parse(
  readFileSync(new URL("../setup/lib/aws/cfn-handler-permissions.json", import.meta.url), "utf8"),
) as { _source: string; types: Record<string, { handlers: Record<string, string[]> }> };

const { account, prefix } = SAMPLE;
const PHASES = ["create", "read", "update", "delete"] as const;
type Phase = (typeof PHASES)[number];

const pipelines = { CodeCommit: renderPipeline("CodeCommit"), S3: renderPipeline("S3") };
const pipeline = pipelines.CodeCommit;
const service = renderService();
const boundary = pipeline.Resources.ServiceRoleBoundary?.Properties?.PolicyDocument as PolicyDocument;
const roles = {
  deploy: roleOf(pipeline, "DeployRole", ARN.role("pipeline", "DeployRole")),
  pipeline: roleOf(pipeline, "PipelineRole", ARN.role("pipeline", "PipelineRole")),
  test: roleOf(pipeline, "TestProjectRole", ARN.role("pipeline", "TestProjectRole")),
  build: roleOf(pipeline, "BuildProjectRole", ARN.role("pipeline", "BuildProjectRole")),
  start: roleOf(pipeline, "StartPipelineRole", ARN.role("pipeline", "StartPipelineRole")),
  infrastructure: roleOf(pipeline, "EcsInfrastructureRole", ARN.infrastructureRole),
  execution: roleOf(service, "ExecutionRole", ARN.role("service", "ExecutionRole"), boundary),
};

/** Requests that were allowed, per role: the "nothing more" check compares them with the grants. */
const exercised = new Map<RenderedRole, Set<string>>();
let evaluated = 0;

async function expectDecision(role: RenderedRole, request: Request, want: Decision): Promise<string | undefined> {
  evaluated += 1;
  const got = await decide(role, request);
  if (got === "Allowed") {
    const seen = exercised.get(role) ?? new Set<string>();
    seen.add(request.action.toLowerCase());
    exercised.set(role, seen);
  }
  if ((want === "Allowed") === (got === "Allowed")) return undefined;
  return `${request.action} on ${request.resource} ${JSON.stringify(request.context ?? {})}: ${got}, expected ${want}`;
}

async function expectAll(role: RenderedRole, requests: readonly Request[], want: Decision = "Allowed") {
  const wrong = (await Promise.all(requests.map((r) => expectDecision(role, r, want)))).filter(Boolean);
  expect(wrong).toEqual([]);
}

// ------------------------------------------------------------------ DeployRole × CloudFormation handlers

/**
 * Handler permissions the DeployRole is not given, each with its reason: they
 * belong to properties infra/service.yaml does not use, or granting them
 * would undo a guarantee. A handler permission neither granted nor listed
 * here fails the proof.
 */
const NOT_GRANTED: Record<string, string> = {
  "AWS::SecretsManager::Secret secretsmanager:ReplicateSecretToRegions": "ReplicaRegions is not used",
  "AWS::SecretsManager::Secret secretsmanager:RemoveRegionsFromReplication": "ReplicaRegions is not used",
  "AWS::Logs::LogGroup firehose:TagDeliveryStream": "no log delivery to Firehose is configured",
  "AWS::Logs::LogGroup logs:CreateLogDelivery": "no log delivery is configured",
  "AWS::Logs::LogGroup logs:PutBearerTokenAuthentication": "BearerTokenAuthenticationEnabled is not used",
  "AWS::Logs::LogGroup logs:PutDataProtectionPolicy": "DataProtectionPolicy is not used",
  "AWS::Logs::LogGroup logs:PutIndexPolicy": "FieldIndexPolicies is not used",
  "AWS::Logs::LogGroup logs:DeleteIndexPolicy": "FieldIndexPolicies is not used",
  "AWS::Logs::LogGroup logs:PutResourcePolicy": "ResourcePolicyDocument is not used",
  "AWS::Logs::LogGroup logs:DeleteResourcePolicy": "ResourcePolicyDocument is not used",
  "AWS::Logs::LogGroup logs:AssociateKmsKey": "KmsKeyId is not used (the group uses the default encryption)",
  "AWS::Logs::LogGroup logs:DisassociateKmsKey": "KmsKeyId is not used",
  "AWS::Logs::LogGroup logs:PutLogGroupDeletionProtection": "DeletionProtectionEnabled is not used",
  "AWS::Logs::LogGroup s3:REST.PUT.OBJECT": "not an IAM action (an S3 REST operation name in the schema)",
  "AWS::IAM::Role iam:AttachRolePolicy": "ManagedPolicyArns is not used; attaching managed policies is not needed",
  "AWS::IAM::Role iam:DeleteRolePermissionsBoundary": "never: it would lift the boundary every service role carries",
  "AWS::IAM::Role iam:UpdateRole": "MaxSessionDuration is not used",
  "AWS::IAM::Role iam:UpdateRoleDescription": "Description is not used",
  "AWS::ECS::Service iam:PassRole":
    "Role is not used (awsvpc services use ECS's service-linked role); the canary's infrastructure role, the one passed, is proved below",
  "AWS::ElasticLoadBalancingV2::ListenerRule cognito-idp:DescribeUserPoolClient":
    "no authenticate-cognito action is used",
  "AWS::ElasticLoadBalancingV2::TargetGroup elasticloadbalancing:RegisterTargets":
    "Targets is not used: ECS registers the tasks with its service-linked role",
  "AWS::ElasticLoadBalancingV2::TargetGroup elasticloadbalancing:DeregisterTargets": "Targets is not used",
};

/** The ARN of each service.yaml resource type. */
const OWN_ARN: Record<string, string> = {
  "AWS::SecretsManager::Secret": ARN.secret,
  "AWS::Logs::LogGroup": ARN.logGroup(`/aws-cicd-lab/${prefix}/app`),
  "AWS::IAM::Role": ARN.role("service", "ExecutionRole"),
  "AWS::ECS::TaskDefinition": ARN.taskDefinition,
  "AWS::ElasticLoadBalancingV2::TargetGroup": ARN.targetGroup,
  "AWS::ElasticLoadBalancingV2::ListenerRule": ARN.listenerRule,
  "AWS::ECS::Service": ARN.service,
};

/** The call that creates each type: it carries the stack's tags (tag-on-create). */
const CREATE_CALL: Record<string, string> = {
  "AWS::SecretsManager::Secret": "secretsmanager:CreateSecret",
  "AWS::Logs::LogGroup": "logs:CreateLogGroup",
  "AWS::IAM::Role": "iam:CreateRole",
  "AWS::ECS::TaskDefinition": "ecs:RegisterTaskDefinition",
  "AWS::ElasticLoadBalancingV2::TargetGroup": "elasticloadbalancing:CreateTargetGroup",
  "AWS::ElasticLoadBalancingV2::ListenerRule": "elasticloadbalancing:CreateRule",
  "AWS::ECS::Service": "ecs:CreateService",
};

const TAG_CALLS = new Set([
  "ecs:TagResource",
  "elasticloadbalancing:AddTags",
  "iam:TagRole",
  "logs:TagResource",
  "secretsmanager:TagResource",
]);
/** Actions whose authorization reads the role's permissions boundary (iam:PermissionsBoundary). */
const BOUNDARY_KEYED = new Set([
  "iam:CreateRole",
  "iam:PutRolePolicy",
  "iam:PutRolePermissionsBoundary",
  "iam:DeleteRolePolicy",
  "iam:DetachRolePolicy",
]);

/** The request CloudFormation's handler makes for one listed permission, with the context keys it sends. */
async function handlerRequest(type: string, phase: Phase, action: string): Promise<Request> {
  const [svc, name] = action.split(":") as [string, string];
  if (await isWildcardOnlyAction(svc, name)) return { action, resource: "*" };
  const execRole = ARN.role("service", "ExecutionRole");
  const resource =
    (type !== "AWS::IAM::Role" && (action === "iam:PassRole" || action === "iam:GetRole") && execRole) ||
    (action === "elasticloadbalancing:CreateRule" && ARN.listener) ||
    (OWN_ARN[type] as string);
  // The IAM service reference: these act on the service and on one of its deployments.
  const alsoOn = ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"].includes(action)
    ? [ARN.serviceDeployment]
    : [];
  const context: Record<string, string | string[]> = {};
  const creating = action === CREATE_CALL[type];
  const tagOnCreate = phase === "create" && TAG_CALLS.has(action);
  // GetRole and PassRole follow CreateRole within seconds, before a new role's tags are seen
  // everywhere: the proof gives them no tag to rely on.
  const justCreatedRole = action === "iam:GetRole" || action === "iam:PassRole";
  if (creating || tagOnCreate) Object.assign(context, tagging);
  else if (!justCreatedRole) Object.assign(context, tagged, TAG_CALLS.has(action) ? tagging : {});
  if (tagOnCreate && (svc === "ecs" || svc === "elasticloadbalancing"))
    context[`${svc}:CreateAction`] = (CREATE_CALL[type] as string).split(":")[1] as string;
  if (action === "iam:PassRole") context["iam:PassedToService"] = "ecs-tasks.amazonaws.com";
  if (BOUNDARY_KEYED.has(action)) context["iam:PermissionsBoundary"] = ARN.boundary;
  return { action, resource, alsoOn, context };
}

describe("IAM proof: the Deploy stage's role × CloudFormation's handlers for infra/service.yaml", () => {
  const types = [...new Set(Object.values(service.Resources).map((r) => r.Type))].sort();

  it("reads handler permissions for every resource type of the service stack", () => {
    expect(handlerData._source).toMatch(/CloudFormation resource provider schemas/);
    expect(types.length).toBeGreaterThanOrEqual(7);
    for (const type of types) expect(handlerData.types[type]?.handlers.create, type).toBeDefined();
  });

  for (const phase of PHASES) {
    it(`allows every ${phase} handler permission, or says why not`, async () => {
      const requests: Request[] = [];
      for (const type of types) {
        for (const action of handlerData.types[type]?.handlers[phase] ?? []) {
          if (!(`${type} ${action}` in NOT_GRANTED)) requests.push(await handlerRequest(type, phase, action));
        }
      }
      expect(requests.length).toBeGreaterThan(5);
      await expectAll(roles.deploy, requests);
    });
  }

  it("lists nothing as not granted that the handlers do not call, and grants none of it", () => {
    const granted = grantedActions(roles.deploy);
    for (const entry of Object.keys(NOT_GRANTED)) {
      const [type, action] = entry.split(" ") as [string, string];
      expect(
        PHASES.some((p) => handlerData.types[type]?.handlers[p]?.includes(action)),
        entry,
      ).toBe(true);
      // iam:PassRole is granted for the task execution role only; passing anything else is proved denied below.
      if (action !== "iam:PassRole") expect(granted.has(action.toLowerCase()), entry).toBe(false);
    }
  });
});

describe("IAM proof: what the Deploy stage's role must never do", () => {
  const other = "other";
  const otherRole = `arn:aws:iam::${account}:role/${other}-service-ExecutionRole-Z9Y8X7W6V5U4`;
  // A prefix that starts like this one's role names: demo-service-x makes demo-service-x-service-… roles.
  const lookalike = `arn:aws:iam::${account}:role/${prefix}-service-x-service-ExecutionRole-Q1W2E3R4T5Y6`;
  const theirs = { "aws:ResourceTag/aws-cicd-lab:prefix": `${prefix}-service-x` };

  it("denies another prefix's service, roles and rules", async () => {
    await expectAll(
      roles.deploy,
      [
        { action: "ecs:UpdateService", resource: ARN.service.replaceAll(prefix, other), context: tagged },
        { action: "ecs:DeleteService", resource: ARN.service.replaceAll(prefix, other) },
        { action: "iam:PutRolePolicy", resource: otherRole, context: { "iam:PermissionsBoundary": ARN.boundary } },
        { action: "iam:DeleteRole", resource: otherRole },
        {
          action: "iam:PutRolePolicy",
          resource: lookalike,
          context: { ...theirs, "iam:PermissionsBoundary": ARN.boundary.replace(prefix, `${prefix}-service-x`) },
        },
        { action: "iam:DeleteRole", resource: lookalike, context: theirs },
        { action: "iam:TagRole", resource: lookalike, context: { ...theirs, ...tagging } },
        { action: "elasticloadbalancing:DeleteRule", resource: ARN.listenerRule.replace(`${prefix}-alb`, "other-alb") },
        { action: "secretsmanager:GetSecretValue", resource: ARN.secret, context: { ...theirs } },
      ],
      "ImplicitlyDenied",
    );
  });

  it("denies creating a role without the boundary, or with another one", async () => {
    const role = ARN.role("service", "AnotherRole");
    await expectAll(
      roles.deploy,
      [
        { action: "iam:CreateRole", resource: role, context: tagging },
        {
          action: "iam:CreateRole",
          resource: role,
          context: { ...tagging, "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" },
        },
        { action: "iam:PutRolePolicy", resource: role, context: tagged },
        { action: "iam:DeleteRolePermissionsBoundary", resource: role, context: { ...tagged } },
        {
          action: "iam:AttachRolePolicy",
          resource: role,
          context: { ...tagged, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" },
        },
      ],
      "ImplicitlyDenied",
    );
  });

  it("denies passing any role outside the prefix, or to another service", async () => {
    await expectAll(
      roles.deploy,
      [
        {
          action: "iam:PassRole",
          resource: `arn:aws:iam::${account}:role/Admin`,
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
        { action: "iam:PassRole", resource: otherRole, context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        {
          action: "iam:PassRole",
          resource: lookalike,
          context: { ...theirs, "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
        {
          action: "iam:PassRole",
          resource: ARN.role("service", "ExecutionRole"),
          context: { ...tagged, "iam:PassedToService": "ec2.amazonaws.com" },
        },
      ],
      "ImplicitlyDenied",
    );
  });

  it("caps any role it makes at the boundary, whatever inline policy a pushed template gives it", async () => {
    const greedy: RenderedRole = {
      ...roles.execution,
      policies: [{ name: "everything", policy: { Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] } }],
    };
    await expectAll(
      greedy,
      [
        { action: "iam:CreateUser", resource: `arn:aws:iam::${account}:user/intruder` },
        { action: "iam:AttachRolePolicy", resource: ARN.role("pipeline", "DeployRole") },
        { action: "s3:GetObject", resource: `${ARN.bucket}/source.zip` },
        { action: "secretsmanager:GetSecretValue", resource: ARN.secret, context: theirs },
      ],
      "ImplicitlyDenied",
    );
  });
});

// ------------------------------------------------------------------ CodeBuild roles × buildspecs

interface Buildspec {
  readonly reports?: Record<string, unknown>;
}

/** The actions each "# AWS calls:" annotation names, in a buildspec and the scripts it runs. */
function annotatedCalls(file: string): string[] {
  const text = readFileSync(join(CODE_DIR, file), "utf8");
  return [...text.matchAll(/#\s*AWS calls:(.*)$/gm)].flatMap((m) =>
    [...(m[1] as string).matchAll(/\b([a-z0-9-]+:[A-Za-z]+)\b/g)].map((x) => x[1] as string),
  );
}

/** Every command that reaches AWS (the AWS CLI, docker push to ECR) has an annotation above it, in the same list item. */
function unannotatedCommands(file: string): string[] {
  const lines = readFileSync(join(CODE_DIR, file), "utf8").split("\n");
  return lines
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => !/^\s*#/.test(line) && /\baws [a-z]|docker push/.test(line))
    .filter(({ i }) => !lines.slice(Math.max(0, i - 8), i).some((l) => /#\s*AWS calls:/.test(l)))
    .map(({ line, i }) => `${file}:${i + 1}: ${line.trim()}`);
}

const CALL_RESOURCE: Record<string, string> = {
  "ecr:GetAuthorizationToken": "*",
  "ecr-public:GetAuthorizationToken": "*",
  "sts:GetServiceBearerToken": "*",
  "cloudformation:DescribeStacks": ARN.stack("environment"),
  "codecommit:GitPull": ARN.codecommitRepository,
};
const resourceOfCall = (action: string) => CALL_RESOURCE[action] ?? ARN.ecrRepository;

/** What CodeBuild itself does for a project in a pipeline: logs, artifacts, reports, the clone. */
function codebuildManaged(project: string, spec: Buildspec, writesArtifact: boolean): Request[] {
  const group = ARN.logGroup(`/aws/codebuild/${project}`);
  const artifact = `${ARN.bucket}/${prefix}-pipeline/Source/Xa1bC2d`;
  return [
    { action: "logs:CreateLogStream", resource: `${group}:log-stream:3f6e0c1a-5d8b-4e5b-9f2a-1c2d3e4f5a6b` },
    { action: "logs:PutLogEvents", resource: `${group}:log-stream:3f6e0c1a-5d8b-4e5b-9f2a-1c2d3e4f5a6b` },
    { action: "s3:GetObject", resource: artifact },
    { action: "s3:GetObjectVersion", resource: artifact },
    ...(writesArtifact
      ? [{ action: "s3:PutObject", resource: `${ARN.bucket}/${prefix}-pipeline/Release/Yb2cD3e` }]
      : []),
    // CodeBuild names a buildspec's report group <project>-<report name>.
    ...Object.keys(spec.reports ?? {}).flatMap((report) =>
      ["CreateReportGroup", "CreateReport", "UpdateReport", "BatchPutTestCases"].map((a) => ({
        action: `codebuild:${a}`,
        resource: ARN.reportGroup(`${project}-${report}`),
      })),
    ),
    // CODEBUILD_CLONE_REF: CodeBuild clones the repository with the project's role.
    { action: "codecommit:GitPull", resource: ARN.codecommitRepository },
  ];
}

describe("IAM proof: the CodeBuild roles × what the buildspecs call", () => {
  const projects = [
    {
      role: roles.test,
      project: `${prefix}-test`,
      buildspec: "buildspec-test.yml",
      scripts: ["scripts/run-checks.sh", "scripts/ecr-public-login.sh"],
    },
    {
      role: roles.build,
      project: `${prefix}-build`,
      buildspec: "buildspec.yml",
      scripts: [
        "scripts/image-tag.sh",
        "scripts/source-digest.sh",
        "scripts/ecr-public-login.sh",
        "scripts/wait-for-stack.sh",
      ],
    },
  ];

  it("finds an annotation beside every command that calls AWS", () => {
    const files = projects.flatMap((p) => [p.buildspec, ...p.scripts]);
    expect(files.flatMap(unannotatedCommands)).toEqual([]);
    expect(annotatedCalls("buildspec.yml").length).toBeGreaterThanOrEqual(7);
  });

  it("publishes only the report groups teardown deletes", () => {
    const groups = projects.flatMap(({ project, buildspec }) => {
      const spec = parse(readFileSync(join(CODE_DIR, buildspec), "utf8")) as Buildspec;
      return Object.keys(spec.reports ?? {}).map((report) => `${project}-${report}`);
    });
    expect(groups).toEqual(reportGroupNames(prefix));
  });

  for (const { role, project, buildspec, scripts } of projects) {
    it(`${project}: allows every annotated call and what CodeBuild does for the project`, async () => {
      const spec = parse(readFileSync(join(CODE_DIR, buildspec), "utf8")) as Buildspec;
      const calls = [...new Set([buildspec, ...scripts].flatMap(annotatedCalls))];
      const requests: Request[] = [
        ...calls.map((action) => ({ action, resource: resourceOfCall(action) })),
        ...codebuildManaged(project, spec, project.endsWith("-build")),
      ];
      await expectAll(role, requests);
    });
  }

  it("denies pushing to another repository, reading another prefix's stack, or writing outside the bucket", async () => {
    await expectAll(
      roles.build,
      [
        { action: "ecr:PutImage", resource: ARN.ecrRepository.replace(`${prefix}-app`, "other-app") },
        {
          action: "cloudformation:DescribeStacks",
          resource: ARN.stack("environment").replace(`/${prefix}-`, "/other-"),
        },
        { action: "s3:PutObject", resource: "arn:aws:s3:::someone-elses-bucket/x" },
        { action: "ecr:BatchGetImage", resource: ARN.ecrRepository },
      ],
      "ImplicitlyDenied",
    );
    await expectAll(
      roles.test,
      [
        { action: "s3:PutObject", resource: `${ARN.bucket}/x` },
        { action: "ecr:PutImage", resource: ARN.ecrRepository },
      ],
      "ImplicitlyDenied",
    );
  });
});

// ------------------------------------------------------------------ PipelineRole × the pipeline's actions

interface PipelineAction {
  readonly Name: string;
  readonly ActionTypeId: { readonly Provider: string; readonly Category: string };
  readonly Configuration: Record<string, string>;
  readonly InputArtifacts?: ReadonlyArray<{ Name: string }>;
  readonly OutputArtifacts?: ReadonlyArray<{ Name: string }>;
}

/** What CodePipeline calls with its role to run one action (CodePipeline user guide, action references). */
function pipelineActionRequests(action: PipelineAction): Request[] {
  const c = action.Configuration;
  const artifact = (name: string) => `${ARN.bucket}/${prefix}-pipeline/${name}/Zc3dE4f`;
  const byProvider: Record<string, () => Request[]> = {
    S3: () => [
      { action: "s3:GetObject", resource: `${ARN.bucket.replace(/[^:]+$/, c.S3Bucket as string)}/${c.S3ObjectKey}` },
      { action: "s3:GetObjectVersion", resource: `${ARN.bucket}/${c.S3ObjectKey}` },
      { action: "s3:GetBucketVersioning", resource: ARN.bucket },
    ],
    CodeCommit: () =>
      ["GetBranch", "GetCommit", "GetRepository", "UploadArchive", "GetUploadArchiveStatus", "CancelUploadArchive"].map(
        (a) => ({
          action: `codecommit:${a}`,
          resource: ARN.codecommitRepository.replace(/[^:]+$/, c.RepositoryName as string),
        }),
      ),
    CodeBuild: () =>
      ["StartBuild", "BatchGetBuilds"].map((a) => ({
        action: `codebuild:${a}`,
        resource: ARN.project(c.ProjectName as string),
      })),
    CloudFormation: () => {
      const stack = ARN.stack("service").replace(`${prefix}-service`, c.StackName as string);
      const calls = ["DescribeStacks", "DescribeStackEvents", "CreateStack", "UpdateStack"];
      if (c.ActionMode === "REPLACE_ON_FAILURE") calls.push("DeleteStack");
      return [
        ...calls.map((a) => ({ action: `cloudformation:${a}`, resource: stack })),
        {
          action: "iam:PassRole",
          resource: c.RoleArn as string,
          context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
        },
      ];
    },
  };
  const own = byProvider[action.ActionTypeId.Provider];
  if (!own) throw new Error(`no known calls for a ${action.ActionTypeId.Provider} action`);
  return [
    ...own(),
    ...(action.InputArtifacts ?? []).flatMap((a) => [
      { action: "s3:GetObject", resource: artifact(a.Name) },
      { action: "s3:GetObjectVersion", resource: artifact(a.Name) },
    ]),
    ...(action.OutputArtifacts ?? []).map((a) => ({ action: "s3:PutObject", resource: artifact(a.Name) })),
  ];
}

function actionsOf(template: Template): PipelineAction[] {
  const stages = template.Resources.Pipeline?.Properties?.Stages as Array<{ Actions: PipelineAction[] }>;
  return stages.flatMap((s) => s.Actions);
}

describe("IAM proof: the pipeline's role × every action it runs", () => {
  for (const [source, template] of Object.entries(pipelines)) {
    it(`with a ${source} source: allows what each action needs`, async () => {
      const role = roleOf(template, "PipelineRole", ARN.role("pipeline", "PipelineRole"));
      const actions = actionsOf(template);
      expect(actions.map((a) => a.ActionTypeId.Provider)).toEqual([source, "CodeBuild", "CodeBuild", "CloudFormation"]);
      // The artifact store: CodePipeline checks the bucket before it writes artifacts.
      const store = [
        { action: "s3:GetBucketLocation", resource: ARN.bucket },
        { action: "s3:ListBucket", resource: ARN.bucket },
      ];
      await expectAll(role, [...store, ...actions.flatMap(pipelineActionRequests)]);
      // Both sources' needs together make what the one PipelineRole statement list must cover.
      exercised.set(
        roles.pipeline,
        new Set([...(exercised.get(roles.pipeline) ?? []), ...(exercised.get(role) ?? [])]),
      );
    });
  }

  it("denies touching another stack or handing the deploy role to another service", async () => {
    await expectAll(
      roles.pipeline,
      [
        { action: "cloudformation:UpdateStack", resource: ARN.stack("service").replace(`/${prefix}-`, "/other-") },
        { action: "cloudformation:DeleteStack", resource: ARN.stack("environment") },
        { action: "cloudformation:DeleteStack", resource: ARN.stack("bucket") },
        {
          action: "iam:PassRole",
          resource: roles.deploy.arn,
          context: { "iam:PassedToService": "ec2.amazonaws.com" },
        },
        {
          action: "iam:PassRole",
          resource: `arn:aws:iam::${account}:role/Admin`,
          context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
        },
      ],
      "ImplicitlyDenied",
    );
  });

  it("lets EventBridge start this pipeline and no other", async () => {
    await expectAll(roles.start, [{ action: "codepipeline:StartPipelineExecution", resource: ARN.pipeline }]);
    await expectAll(
      roles.start,
      [{ action: "codepipeline:StartPipelineExecution", resource: ARN.pipeline.replace(prefix, "other") }],
      "ImplicitlyDenied",
    );
  });
});

// ------------------------------------------------------------------ canary releases (lesson 08)

describe("IAM proof: a canary release (lesson 08)", () => {
  const otherRule = ARN.listenerRule.replaceAll(`/${prefix}-alb/`, "/other-alb/");
  const otherRole = ARN.infrastructureRole.replace(`/${prefix}-`, "/other-");

  it("DeployRole passes the infrastructure role to ECS only, and no other prefix's", async () => {
    const pass = (resource: string, service: string): Request => ({
      action: "iam:PassRole",
      resource,
      context: { "iam:PassedToService": service },
    });
    await expectAll(roles.deploy, [pass(ARN.infrastructureRole, "ecs.amazonaws.com")]);
    await expectAll(
      roles.deploy,
      [
        pass(ARN.infrastructureRole, "ecs-tasks.amazonaws.com"),
        pass(ARN.infrastructureRole, "lambda.amazonaws.com"),
        pass(otherRole, "ecs.amazonaws.com"),
      ],
      "ImplicitlyDenied",
    );
  });

  it("the infrastructure role does what ECS does to shift traffic, on this prefix's rule and target groups", async () => {
    await expectAll(roles.infrastructure, [
      ...["DescribeListeners", "DescribeRules", "DescribeTargetGroups", "DescribeTargetHealth"].map((a) => ({
        action: `elasticloadbalancing:${a}`,
        resource: "*",
      })),
      { action: "elasticloadbalancing:ModifyRule", resource: ARN.listenerRule },
      { action: "elasticloadbalancing:ModifyListener", resource: ARN.listener },
      { action: "elasticloadbalancing:RegisterTargets", resource: ARN.targetGroup, context: tagged },
      { action: "elasticloadbalancing:DeregisterTargets", resource: ARN.targetGroup, context: tagged },
    ]);
  });

  it("the infrastructure role cannot touch another prefix's rule or target groups", async () => {
    await expectAll(
      roles.infrastructure,
      [
        { action: "elasticloadbalancing:ModifyRule", resource: otherRule },
        { action: "elasticloadbalancing:DeleteRule", resource: ARN.listenerRule },
        {
          action: "elasticloadbalancing:RegisterTargets",
          resource: ARN.targetGroup,
          context: { [`aws:ResourceTag/aws-cicd-lab:prefix`]: "other" },
        },
        { action: "elasticloadbalancing:DeleteTargetGroup", resource: ARN.targetGroup, context: tagged },
      ],
      "ImplicitlyDenied",
    );
  });
});

// ------------------------------------------------------------------ ExecutionRole × starting a task

describe("IAM proof: the task execution role × what ECS does to start a task", () => {
  it("allows pulling the image, writing the log and reading the secret, within the boundary", async () => {
    const group = ARN.logGroup(`/aws-cicd-lab/${prefix}/app`);
    await expectAll(roles.execution, [
      { action: "ecr:GetAuthorizationToken", resource: "*" },
      ...["BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage"].map((a) => ({
        action: `ecr:${a}`,
        resource: ARN.ecrRepository,
      })),
      { action: "logs:CreateLogStream", resource: `${group}:log-stream:app/app/0f1e2d3c4b5a` },
      { action: "logs:PutLogEvents", resource: `${group}:log-stream:app/app/0f1e2d3c4b5a` },
      { action: "secretsmanager:GetSecretValue", resource: ARN.secret, context: tagged },
    ]);
  });
});

// ------------------------------------------------------------------ trust, and nothing more

describe("IAM proof: trust policies", () => {
  const principals: Array<[keyof typeof roles, string]> = [
    ["deploy", "cloudformation.amazonaws.com"],
    ["pipeline", "codepipeline.amazonaws.com"],
    ["test", "codebuild.amazonaws.com"],
    ["build", "codebuild.amazonaws.com"],
    ["start", "events.amazonaws.com"],
    ["execution", "ecs-tasks.amazonaws.com"],
    ["infrastructure", "ecs.amazonaws.com"],
  ];
  for (const [role, principal] of principals) {
    const keyed = SENDS_SOURCE_ACCOUNT.has(principal);
    it(`${role}: ${principal} may assume it${keyed ? " from this account, not from another," : ""} and no other service may`, async () => {
      expect(await mayAssume(roles[role], principal, account)).toBe("Allowed");
      // Only a key the service sends can tell this account from another; elsewhere PassRole is what
      // limits who hands the role to the service (see each role's trust policy).
      if (keyed) expect(await mayAssume(roles[role], principal, "999988887777")).not.toBe("Allowed");
      expect(await mayAssume(roles[role], "lambda.amazonaws.com", account)).not.toBe("Allowed");
      evaluated += keyed ? 3 : 2;
    });
  }
});

describe("IAM proof: nothing more", () => {
  // Runs after the suites above (vitest runs a file's tests in order): each
  // role's grants must all have been used by an allowed request.
  for (const name of ["deploy", "pipeline", "test", "build", "start", "execution", "infrastructure"] as const) {
    it(`${name}: every granted action is one AWS calls`, () => {
      const used = exercised.get(roles[name]) ?? new Set<string>();
      const unused = [...grantedActions(roles[name])].filter((a) => !used.has(a));
      expect(unused, `granted to ${name} but never called`).toEqual([]);
    });
  }

  it("evaluated a proof's worth of requests", () => {
    // The closing number of the proof: printed so a change in coverage shows in the log.
    console.info(`IAM proof: ${evaluated} requests evaluated`);
    expect(evaluated).toBeGreaterThan(150);
  });
});
