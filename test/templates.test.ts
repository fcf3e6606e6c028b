// Checks on the templates as written: IAM least privilege across every
// statement, and the settings the emulator's CloudFormation silently ignores
// (so the deploy tests cannot see them) but real AWS applies.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TEMPLATE_DIR } from "../setup/lib/aws/naming.ts";
import { parseTemplate, type Template } from "../setup/lib/aws/templates.ts";
import { SENDS_SOURCE_ACCOUNT } from "./support/iam.ts";
import { readFileSync } from "node:fs";

const files = readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith(".yaml"));
const templates: Record<string, Template> = Object.fromEntries(
  files.map((f) => [f, parseTemplate(readFileSync(join(TEMPLATE_DIR, f), "utf8"))]),
);

/**
 * Statements allowed a `Resource: "*"`, as template/resource/Sid, each because
 * the API offers nothing narrower. Anything else with "*" fails the test.
 */
const WILDCARD_RESOURCE_ALLOWLIST: Record<string, string> = {
  "service.yaml/ExecutionRole/RegistryLogin": "ecr:GetAuthorizationToken has no resource-level permissions",
  "pipeline.yaml/BuildProjectRole/RegistryLogin": "ecr:GetAuthorizationToken has no resource-level permissions",
  "pipeline.yaml/DeployRole/DescribeWithoutResource":
    "ELB/Logs Describe calls, ecs:DescribeTaskDefinition and DeregisterTaskDefinition take no resource",
  "pipeline.yaml/ServiceRoleBoundary/RegistryLogin": "ecr:GetAuthorizationToken has no resource-level permissions",
  "pipeline.yaml/DeployRole/GenerateSecretValue": "secretsmanager:GetRandomPassword acts on no resource",
  "pipeline.yaml/EcsInfrastructureRole/ReadLoadBalancing": "ELB Describe calls take no resource",
  "pipeline.yaml/TestProjectRole/PublicRegistryLogin":
    "ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken have no resource-level permissions",
  "pipeline.yaml/BuildProjectRole/PublicRegistryLogin":
    "ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken have no resource-level permissions",
};

interface Statement {
  where: string;
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Statements of every policy document in a template, with Fn::If branches unwrapped. */
function statementsOf(file: string, template: Template): Statement[] {
  const found: Statement[] = [];
  const collect = (where: string, doc: unknown) => {
    const list = (doc as { Statement?: unknown } | undefined)?.Statement;
    for (const raw of Array.isArray(list) ? list : [list]) {
      const branches = (raw as { "Fn::If"?: unknown[] })["Fn::If"];
      for (const s of branches ? branches.slice(1) : [raw]) {
        if (s && typeof s === "object" && "Effect" in s) found.push({ where, ...(s as Omit<Statement, "where">) });
      }
    }
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === "AWS::IAM::Role") {
      collect(`${file}/${id}`, p.AssumeRolePolicyDocument);
      for (const policy of (p.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? [])
        collect(`${file}/${id}`, policy.PolicyDocument);
    }
    if (["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"].includes(resource.Type))
      collect(`${file}/${id}`, p.PolicyDocument);
  }
  return found;
}

const statements = Object.entries(templates).flatMap(([file, t]) => statementsOf(file, t));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

describe("IAM in every template", () => {
  it("has statements to check (the reader found them)", () => {
    expect(statements.length).toBeGreaterThan(20);
    expect(new Set(statements.map((s) => s.where.split("/")[0]))).toEqual(
      new Set(["bucket.yaml", "pipeline.yaml", "service.yaml"]),
    );
  });

  it('never allows the action "*" (or "*:*")', () => {
    const offenders = statements.filter(
      (s) => list(s.Action).some((a) => a === "*" || a === "*:*") || s.NotAction !== undefined,
    );
    expect(offenders).toEqual([]);
  });

  it('uses Resource "*" only on the commented allowlist', () => {
    const wildcard = statements
      .filter((s) => s.Effect === "Allow" && list(s.Resource).includes("*"))
      .map((s) => `${s.where}/${s.Sid ?? "(no Sid)"}`);
    expect(wildcard.sort()).toEqual(Object.keys(WILDCARD_RESOURCE_ALLOWLIST).sort());
  });

  it('keeps every allowlisted "*" statement commented in its template', () => {
    for (const entry of Object.keys(WILDCARD_RESOURCE_ALLOWLIST)) {
      const [file, , sid] = entry.split("/");
      const text = readFileSync(join(TEMPLATE_DIR, file as string), "utf8");
      const block = text.slice(text.indexOf(`Sid: ${sid}`)).split(/\n\s+- Sid:/)[0] ?? "";
      expect(block, entry).toMatch(/# allowlisted: .+\n\s+Resource: "\*"/);
    }
  });

  it("limits iam:PassRole to named roles, each for one service", () => {
    const passRole = statements.filter((s) => list(s.Action).includes("iam:PassRole"));
    expect(passRole.length).toBeGreaterThanOrEqual(2);
    for (const s of passRole) {
      expect(list(s.Resource)).not.toContain("*");
      expect(s.Condition?.StringEquals?.["iam:PassedToService"], s.where).toMatch(/\.amazonaws\.com$/);
    }
  });

  it("lets every role be assumed only by its AWS service, from this account where the service says which", () => {
    for (const [file, t] of Object.entries(templates)) {
      for (const [id, r] of Object.entries(t.Resources).filter(([, r]) => r.Type === "AWS::IAM::Role")) {
        const trust = statementsOf(file, {
          Resources: {
            [id]: { Type: r.Type, Properties: { AssumeRolePolicyDocument: r.Properties?.AssumeRolePolicyDocument } },
          },
        });
        for (const s of trust) {
          expect((s as unknown as { Principal: { Service: string } }).Principal.Service, `${file}/${id}`).toMatch(
            /^[a-z-]+\.amazonaws\.com$/,
          );
          // aws:SourceAccount exactly where the service documents sending it (test/support/iam.ts), else no
          // condition at all: one on a key the service never sends would make the role unusable.
          const service = (s as unknown as { Principal: { Service: string } }).Principal.Service;
          if (SENDS_SOURCE_ACCOUNT.has(service))
            expect(s.Condition?.StringEquals?.["aws:SourceAccount"], `${file}/${id}`).toEqual({
              Ref: "AWS::AccountId",
            });
          else expect(s.Condition, `${file}/${id}`).toBeUndefined();
        }
      }
    }
  });
});

describe("the image repository's lifecycle rule", () => {
  it("never expires a tagged image by age, and keeps hundreds of them: it cannot tell which one the service runs", () => {
    const policy = templates["pipeline.yaml"]?.Resources.Repository?.Properties?.LifecyclePolicy as {
      LifecyclePolicyText: string;
    };
    const rules = (
      JSON.parse(policy.LifecyclePolicyText) as {
        rules: Array<{ selection: { tagStatus: string; countType: string; countNumber: number } }>;
      }
    ).rules;
    expect(rules.length).toBeGreaterThan(0);
    for (const { selection } of rules.filter((r) => r.selection.tagStatus !== "untagged")) {
      expect(selection.countType).toBe("imageCountMoreThan");
      expect(selection.countNumber).toBeGreaterThanOrEqual(200);
    }
  });
});

describe("template settings the emulator does not apply", () => {
  // moto's CloudFormation applies only BucketEncryption and Tags to a bucket and
  // skips AWS::S3::BucketPolicy; these settings are checked as written.
  const bucket = templates["bucket.yaml"]?.Resources.ArtifactBucket?.Properties ?? {};
  const policy = templates["bucket.yaml"]?.Resources.ArtifactBucketPolicy?.Properties ?? {};

  it("bucket: versioning on, public access fully blocked, bucket owner enforced", () => {
    expect(bucket.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
  });

  it("bucket: old versions expire after a few days", () => {
    const rules = (bucket.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        Status: "Enabled",
        NoncurrentVersionExpiration: { NoncurrentDays: { Ref: "NoncurrentVersionDays" } },
      }),
    );
    expect(templates["bucket.yaml"]?.Parameters?.NoncurrentVersionDays?.Default).toBeLessThanOrEqual(7);
  });

  it("bucket policy: denies every request not made over TLS", () => {
    const [deny] = (policy.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
    expect(deny).toMatchObject({
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    expect(deny?.Resource).toHaveLength(2);
  });

  it("pipeline: CodeBuild runs privileged only because it runs Docker, and logs to the stack's own log groups", () => {
    const t = templates["pipeline.yaml"] as Template;
    for (const id of ["TestProject", "BuildProject"]) {
      const p = t.Resources[id]?.Properties as {
        Environment: { PrivilegedMode: boolean };
        LogsConfig: { CloudWatchLogs: { GroupName: unknown } };
      };
      expect(p.Environment.PrivilegedMode).toBe(true);
      expect(p.LogsConfig.CloudWatchLogs.GroupName).toEqual({ Ref: id.replace("Project", "LogGroup") });
    }
    const text = readFileSync(join(TEMPLATE_DIR, "pipeline.yaml"), "utf8");
    expect(text.match(/# Privileged: .*Docker/g)).toHaveLength(2);
  });

  it("pipeline: the image repository scans on push and can be deleted with images in it", () => {
    const repo = (templates["pipeline.yaml"] as Template).Resources.Repository?.Properties;
    expect(repo).toMatchObject({
      ImageScanningConfiguration: { ScanOnPush: true },
      ImageTagMutability: "IMMUTABLE",
      EmptyOnDelete: true,
    });
  });

  it("pipeline: Source, then tests and image build side by side, then Deploy creating, updating or replacing the service stack", () => {
    const p = (templates["pipeline.yaml"] as Template).Resources.Pipeline?.Properties as {
      PipelineType: string;
      Stages: Array<{
        Name: string;
        Actions: Array<{ Name: string; RunOrder?: number; Configuration: Record<string, unknown> }>;
      }>;
    };
    expect(p.PipelineType).toBe("V2");
    expect(p.Stages.map((s) => s.Name)).toEqual(["Source", "TestAndBuild", "Deploy"]);
    // Same run order: CodePipeline starts both at once; Deploy waits for the whole stage.
    expect(p.Stages[1]?.Actions.map((a) => [a.Name, a.RunOrder])).toEqual([
      ["LintAndUnitTests", 1],
      ["BuildAndPushImage", 1],
    ]);
    expect(p.Stages[2]?.Actions[0]?.Configuration).toMatchObject({
      ActionMode: "REPLACE_ON_FAILURE",
      StackName: { "Fn::Sub": "${Prefix}-service" },
      TemplatePath: "Release::infra/service.yaml",
      TemplateConfiguration: "Release::service-config.json",
    });
  });

  it("environment: both subnets give public IPs and use the internet route", () => {
    const r = (templates["environment.yaml"] as Template).Resources;
    for (const id of ["PublicSubnetA", "PublicSubnetB"]) {
      expect(r[id]?.Properties?.MapPublicIpOnLaunch, id).toBe(true);
      expect(r[`${id}Routes`]?.Properties, id).toEqual({
        SubnetId: { Ref: id },
        RouteTableId: { Ref: "PublicRouteTable" },
      });
    }
    expect(r.DefaultRoute?.DependsOn).toBe("InternetGatewayAttachment");
  });

  it("service: Fargate, behind the target group, rolling with circuit breaker and rollback", () => {
    const p = (templates["service.yaml"] as Template).Resources.Service?.Properties as Record<string, unknown>;
    expect(p).toMatchObject({
      LaunchType: "FARGATE",
      DesiredCount: { Ref: "DesiredCount" },
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      LoadBalancers: [
        { ContainerName: "app", ContainerPort: { Ref: "ContainerPort" }, TargetGroupArn: { Ref: "TargetGroup" } },
      ],
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: "ENABLED" } },
    });
    expect((templates["service.yaml"] as Template).Parameters?.DesiredCount?.Default).toBe(2);
  });

  it("service: 256 CPU / 512 MiB Fargate task whose JWT_SECRET comes from a generated Secrets Manager secret", () => {
    const t = templates["service.yaml"] as Template;
    const td = t.Resources.TaskDefinition?.Properties as Record<string, unknown>;
    expect(td).toMatchObject({
      NetworkMode: "awsvpc",
      RequiresCompatibilities: ["FARGATE"],
      ExecutionRoleArn: { "Fn::GetAtt": ["ExecutionRole", "Arn"] },
    });
    expect(t.Parameters?.TaskCpu?.Default).toBe("256");
    expect(t.Parameters?.TaskMemory?.Default).toBe("512");
    const container = (td.ContainerDefinitions as Array<Record<string, unknown>>)[0];
    expect(container?.Secrets).toEqual([{ Name: "JWT_SECRET", ValueFrom: { Ref: "JwtSecret" } }]);
    expect(JSON.stringify(container?.Environment)).not.toMatch(/SECRET/);
    expect(t.Resources.JwtSecret).toMatchObject({
      Type: "AWS::SecretsManager::Secret",
      Properties: { GenerateSecretString: { PasswordLength: 64 } },
    });
  });

  it("service: target group drains in 10 s; log group keeps a few days and goes with the stack", () => {
    const r = (templates["service.yaml"] as Template).Resources;
    expect(r.TargetGroup?.Properties?.TargetGroupAttributes).toEqual([
      { Key: "deregistration_delay.timeout_seconds", Value: "10" },
    ]);
    expect(r.LogGroup).toMatchObject({
      DeletionPolicy: "Delete",
      Properties: { RetentionInDays: { Ref: "LogRetentionDays" } },
    });
    expect((templates["service.yaml"] as Template).Parameters?.LogRetentionDays?.Default).toBeLessThanOrEqual(7);
  });

  it("pipeline: the deploy role's listener-rule permission names the environment's load balancer", () => {
    const lb = (templates["environment.yaml"] as Template).Resources.LoadBalancer?.Properties?.Name;
    expect(lb).toEqual({ "Fn::Sub": "${Prefix}-alb" });
    const rules = statements.find((s) => s.where === "pipeline.yaml/DeployRole" && s.Sid === "RulesOnOwnListener");
    expect(JSON.stringify(rules?.Resource)).toContain("listener/app/${Prefix}-alb/");
    expect(JSON.stringify(rules?.Resource)).toContain("listener-rule/app/${Prefix}-alb/");
  });

  it("every resource in every template has a one-line description for the progress display", () => {
    for (const [file, t] of Object.entries(templates)) {
      for (const [id, r] of Object.entries(t.Resources)) {
        expect(r.Metadata?.Description, `${file}/${id}`).toMatch(/^[^\n]{10,120}$/);
      }
    }
  });

  it("every parameter has a description and a constraint", () => {
    for (const [file, t] of Object.entries(templates)) {
      for (const [name, p] of Object.entries(t.Parameters ?? {})) {
        expect(p.Description, `${file}/${name}`).toBeTruthy();
        const constrained = ["AllowedPattern", "AllowedValues", "MinValue", "MaxValue"].some((k) => k in p);
        expect(constrained, `${file}/${name}`).toBe(true);
      }
    }
  });
});
