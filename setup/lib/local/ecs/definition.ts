// What the ECS and load balancer stand-ins run, read from the deployed stacks
// as AWS would run them: the service stack's template rendered with the
// parameters the Deploy stage gave it and its resources' physical ids (the
// emulator keeps the task definition and service but drops fields such as
// StopTimeout and the deployment configuration), and the environment's
// listener. The secret the emulator's CloudFormation skips is made by
// secretsmanager/secrets.ts; its ARN is resolved here.
import { type CloudFormationClient, DescribeStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import {
  AddTagsCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { readFile } from "node:fs/promises";
import { stackName, templateFile } from "../../aws/naming.ts";
import { parseTemplate, type Template } from "../../aws/templates.ts";
import { StepError } from "../../errors.ts";
import { type ListenerSettings, type TargetGroupSettings, targetGroupSettings } from "../elbv2/load-balancer.ts";
import { renderDeployedStack } from "../cloudformation/render.ts";
import { ensureStackSecrets } from "../secretsmanager/secrets.ts";

/** The task definition's one essential container, as ECS starts it. */
export interface ContainerDefinition {
  readonly name: string;
  readonly image: string;
  readonly port: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Environment variable → the secret's ARN. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly readonlyRootFilesystem: boolean;
  /** Seconds between SIGTERM and SIGKILL (ECS's default 30). */
  readonly stopTimeoutSeconds: number;
  /** The container's user; unset runs the image's own USER. */
  readonly user?: string;
}

/** DeploymentConfiguration's canary settings, with the alarms that roll a release back. */
export interface CanaryStrategy {
  readonly canaryPercent: number;
  readonly canaryBakeMinutes: number;
  readonly bakeMinutes: number;
  readonly alarms: { readonly names: readonly string[]; readonly enable: boolean; readonly rollback: boolean };
  /** The target group green's tasks go to; the service's own (ServiceDefinition.targetGroupArn) is the other. */
  readonly alternateTargetGroupArn: string;
  /** The listener rule whose forward weights ECS shifts (AdvancedConfiguration's ProductionListenerRule). */
  readonly productionListenerRule: string;
}

/** How ECS deploys a new revision: DeploymentConfiguration's Strategy (ROLLING when the template sets none). */
export type DeploymentStrategy = { readonly kind: "ROLLING" } | ({ readonly kind: "CANARY" } & CanaryStrategy);

export interface ServiceDefinition {
  readonly serviceName: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  /** The task's memory in MiB (the task definition's Memory). */
  readonly memoryMiB: number;
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  readonly healthCheckGracePeriodSeconds: number;
  readonly circuitBreaker: { readonly enable: boolean; readonly rollback: boolean };
  readonly strategy: DeploymentStrategy;
  readonly container: ContainerDefinition;
  readonly targetGroup: TargetGroupSettings;
  /** The target group's ARN, for ECS's event messages. */
  readonly targetGroupArn: string;
  readonly listener: ListenerSettings;
  /** The listener rule as the template defines it: where it is, and the weights it forwards with. */
  readonly rule?: TemplateRule;
}

export interface TemplateRule {
  readonly listenerArn: string;
  readonly priority: number;
  /** Target group ARN → the template's weight (TargetGroupArn alone: 1). */
  readonly forward: Readonly<Record<string, number>>;
}

type Props = Readonly<Record<string, unknown>>;

/** A rendered template value as text (strings and numbers), else the fallback. */
const text = (value: unknown, fallback = ""): string =>
  typeof value === "string" || typeof value === "number" ? String(value) : fallback;

function resourceOfType(template: Template, type: string): { id: string; properties: Props } {
  const found = Object.entries(template.Resources).find(([, r]) => r.Type === type);
  if (!found) throw new StepError(`The service template has no ${type}.`, "Check infra/service.yaml.");
  return { id: found[0], properties: found[1].Properties ?? {} };
}

const pairs = (list: unknown, value: string): Record<string, string> =>
  Object.fromEntries(((list ?? []) as Array<Record<string, unknown>>).map((e) => [text(e.Name), text(e[value])]));

/** The listener's fixed-response default action (environment.yaml) and the listener rule's path patterns. */
function listenerSettings(environment: Template, rule: Props | undefined): ListenerSettings {
  const listener = resourceOfType(environment, "AWS::ElasticLoadBalancingV2::Listener").properties;
  const fixed = ((listener.DefaultActions ?? []) as Array<Record<string, Props>>).find(
    (a) => a.Type === ("fixed-response" as unknown),
  )?.FixedResponseConfig;
  const conditions = (rule?.Conditions ?? []) as Array<{ Field?: string; PathPatternConfig?: { Values?: string[] } }>;
  return {
    defaultResponse: {
      status: Number(fixed?.StatusCode ?? 503),
      contentType: text(fixed?.ContentType, "text/plain"),
      body: text(fixed?.MessageBody),
    },
    forwardPaths: conditions
      .filter((c) => c.Field === "path-pattern")
      .flatMap((c) => c.PathPatternConfig?.Values ?? []),
  };
}

/** The service, its task definition, target group and listener from a rendered service template. */
export function serviceDefinition(service: Template, environment: Template): ServiceDefinition {
  const ecs = resourceOfType(service, "AWS::ECS::Service").properties;
  const task = resourceOfType(service, "AWS::ECS::TaskDefinition").properties;
  const group = resourceOfType(service, "AWS::ElasticLoadBalancingV2::TargetGroup");
  const rule = Object.values(service.Resources).find((r) => r.Type === "AWS::ElasticLoadBalancingV2::ListenerRule");
  const containers = (task.ContainerDefinitions ?? []) as Array<Record<string, unknown>>;
  const [container] = containers;
  if (!container || containers.length !== 1)
    throw new StepError(
      "The rehearsal runs task definitions with exactly one container; infra/service.yaml has " +
        `${containers.length}.`,
      "Keep one container in the task definition.",
    );
  const port = Number((container.PortMappings as Array<{ ContainerPort: unknown }> | undefined)?.[0]?.ContainerPort);
  const deployment = (ecs.DeploymentConfiguration ?? {}) as Props;
  const breaker = (deployment.DeploymentCircuitBreaker ?? {}) as Props;
  const [balanced] = (ecs.LoadBalancers ?? []) as Props[];
  const targetGroupArn = text(
    balanced?.TargetGroupArn,
    // The rendered rule's forward action holds the group's physical ARN.
    text(
      (rule?.Properties?.Actions as Props[] | undefined)?.find((a) => a.Type === "forward")?.TargetGroupArn,
      group.id,
    ),
  );
  return {
    serviceName: String(ecs.ServiceName),
    taskDefinition: String(task.Family),
    desiredCount: Number(ecs.DesiredCount ?? 1),
    memoryMiB: Number(task.Memory ?? 512),
    minimumHealthyPercent: Number(deployment.MinimumHealthyPercent ?? 100),
    maximumPercent: Number(deployment.MaximumPercent ?? 200),
    healthCheckGracePeriodSeconds: Number(ecs.HealthCheckGracePeriodSeconds ?? 0),
    circuitBreaker: { enable: breaker.Enable === true, rollback: breaker.Rollback === true },
    strategy: deploymentStrategy(deployment, balanced, targetGroupArn, rule?.Properties),
    container: {
      name: String(container.Name),
      image: String(container.Image),
      port,
      environment: pairs(container.Environment, "Value"),
      secrets: pairs(container.Secrets, "ValueFrom"),
      readonlyRootFilesystem: container.ReadonlyRootFilesystem === true,
      stopTimeoutSeconds: Number(container.StopTimeout ?? 30),
      ...(text(container.User) ? { user: text(container.User) } : {}),
    },
    targetGroup: targetGroupSettings(group.properties),
    targetGroupArn,
    listener: listenerSettings(environment, rule?.Properties),
    ...(rule?.Properties
      ? {
          rule: {
            listenerArn: text(rule.Properties.ListenerArn),
            priority: Number(rule.Properties.Priority ?? 0),
            forward: Object.fromEntries(forwardWeights(rule.Properties)),
          },
        }
      : {}),
  };
}

/** The target groups a rule's forward action sends to, with their weights (TargetGroupArn alone: weight 1). */
export function forwardWeights(rule: Props | undefined): Map<string, number> {
  const forward = ((rule?.Actions ?? []) as Props[]).find((a) => a.Type === "forward");
  const groups = ((forward?.ForwardConfig as Props | undefined)?.TargetGroups ?? []) as Props[];
  if (groups.length > 0) return new Map(groups.map((g) => [text(g.TargetGroupArn), Number(g.Weight ?? 1)]));
  return new Map<string, number>(forward?.TargetGroupArn ? [[text(forward.TargetGroupArn), 1]] : []);
}

/**
 * DeploymentConfiguration's Strategy, with what ECS requires of it refused in
 * ECS's words: a canary needs the load balancer's AdvancedConfiguration, and,
 * with no test listener rule, a production rule forwarding to both target
 * groups. The rehearsal walks ROLLING and CANARY; BLUE_GREEN and LINEAR it
 * names as AWS's only.
 */
function deploymentStrategy(
  deployment: Props,
  balanced: Props | undefined,
  targetGroupArn: string,
  rule: Props | undefined,
): DeploymentStrategy {
  const kind = text(deployment.Strategy, "ROLLING");
  if (kind === "ROLLING") return { kind };
  if (kind !== "CANARY")
    throw new StepError(
      `The service's deployment strategy is ${kind}: the rehearsal walks ROLLING and CANARY deployments only.`,
      `Rehearse with CANARY (or ROLLING) in infra/service.yaml; ${kind} runs on AWS as written.`,
    );
  const advanced = balanced?.AdvancedConfiguration as Props | undefined;
  if (!advanced)
    throw new StepError(
      "Invalid request provided: advancedConfiguration field is required for all loadBalancers when using a non-ROLLING deployment strategy.",
      "Give the service's LoadBalancers an AdvancedConfiguration (AlternateTargetGroupArn, ProductionListenerRule, RoleArn) in infra/service.yaml.",
    );
  const alternate = text(advanced.AlternateTargetGroupArn);
  const forwards = forwardWeights(rule);
  if (!advanced.TestListenerRule && !(forwards.has(targetGroupArn) && forwards.has(alternate)))
    throw new StepError(
      "Invalid request provided: For Application LoadBalancer, testListenerRule is required when productionListenerRule is not associated with both targetGroup and alternateTargetGroup.",
      "Make the listener rule forward to both target groups (ForwardConfig, weights 1 and 0) in infra/service.yaml.",
    );
  const canary = (deployment.CanaryConfiguration ?? {}) as Props;
  const alarms = (deployment.Alarms ?? {}) as Props;
  return {
    kind,
    // ECS's defaults: 5 %, a 10-minute canary bake; the final bake has none to rely on (set it).
    canaryPercent: Number(canary.CanaryPercent ?? 5),
    canaryBakeMinutes: Number(canary.CanaryBakeTimeInMinutes ?? 10),
    bakeMinutes: Number(deployment.BakeTimeInMinutes ?? 15),
    alarms: {
      names: ((alarms.AlarmNames ?? []) as unknown[]).map((n) => text(n)),
      enable: alarms.Enable === true,
      rollback: alarms.Rollback === true,
    },
    alternateTargetGroupArn: alternate,
    productionListenerRule: text(advanced.ProductionListenerRule),
  };
}

/** The tag the rehearsal keeps on a target group it has seen the stack name, so it is known again. */
const LOGICAL_ID_TAG = "aws-cicd-lab:rehearsal-logical-id";

/**
 * The stack's target groups by logical id. The emulator's
 * DescribeStackResources loses a resource's id once its stack was updated
 * more than once, and a canary needs both groups' ARNs, so each group whose
 * id the emulator still gives is tagged with its logical id, and a lost one
 * is found again: by that tag, else by the name CloudFormation gave it
 * (<stack>-<the id's first letters>-<random>, the id part shortened or
 * dropped to fit 32 characters), else as the one group of this stack no
 * other id claims. Groups named for this stack come first: an emulator shared
 * by tests holds other prefixes' too.
 */
async function targetGroupsByLogicalId(
  clients: { readonly cfn: CloudFormationClient; readonly elb: ElasticLoadBalancingV2Client },
  template: Template,
  stack: string,
): Promise<Record<string, { Ref: string; Arn: string; Name: string }>> {
  const { cfn, elb } = clients;
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::ElasticLoadBalancingV2::TargetGroup")
    .map(([id]) => id);
  if (ids.length === 0) return {};
  const { StackResources } = await cfn
    .send(new DescribeStackResourcesCommand({ StackName: stack }))
    .catch(() => ({ StackResources: [] }));
  const arns = new Map<string, string>();
  for (const r of StackResources ?? [])
    if (r.LogicalResourceId && ids.includes(r.LogicalResourceId) && r.PhysicalResourceId)
      arns.set(r.LogicalResourceId, r.PhysicalResourceId);
  for (const [id, arn] of arns)
    await elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: LOGICAL_ID_TAG, Value: id }] }));

  const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({}));
  const own = (TargetGroups ?? []).filter((g) => g.TargetGroupName?.startsWith(`${stack}-`));
  const candidates = own.length > 0 ? own : (TargetGroups ?? []);
  const claimed = () => new Set(arns.values());
  if (candidates.length > 0 && arns.size < ids.length) {
    const { TagDescriptions } = await elb.send(
      new DescribeTagsCommand({ ResourceArns: candidates.map((g) => g.TargetGroupArn ?? "").slice(0, 20) }),
    );
    for (const d of TagDescriptions ?? []) {
      const id = d.Tags?.find((t) => t.Key === LOGICAL_ID_TAG)?.Value;
      if (id && ids.includes(id) && !arns.has(id) && d.ResourceArn) arns.set(id, d.ResourceArn);
    }
  }
  const idPart = (name: string) => (name.split("-").length >= 3 ? (name.split("-").slice(-2, -1)[0] ?? "") : "");
  for (const id of ids.filter((i) => !arns.has(i))) {
    const matches = candidates.filter((g) => {
      const part = idPart(g.TargetGroupName ?? "");
      return part.length > 0 && id.startsWith(part) && ids.filter((other) => other.startsWith(part)).length === 1;
    });
    if (matches.length === 1 && matches[0]?.TargetGroupArn) arns.set(id, matches[0].TargetGroupArn);
  }
  const unresolved = ids.filter((i) => !arns.has(i));
  const unclaimed = own.filter((g) => g.TargetGroupArn && !claimed().has(g.TargetGroupArn));
  if (unresolved.length === 1 && unclaimed.length === 1 && unclaimed[0]?.TargetGroupArn)
    arns.set(unresolved[0] as string, unclaimed[0].TargetGroupArn);
  return Object.fromEntries([...arns].map(([id, arn]) => [id, { Ref: arn, Arn: arn, Name: arn.split("/")[1] ?? id }]));
}

/** The deployed service as ECS would run it, its secrets' ARNs (see secretsmanager/) resolved. */
export async function readServiceDefinition(
  clients: {
    readonly cfn: CloudFormationClient;
    readonly secrets: SecretsManagerClient;
    readonly elb: ElasticLoadBalancingV2Client;
  },
  prefix: string,
  accountId: string,
  region: string,
  service: string = stackName(prefix, "service"),
  /** The template the stack was deployed from: a release's own (a lesson may have changed it). */
  serviceTemplate: string = templateFile("service"),
): Promise<ServiceDefinition> {
  const template = parseTemplate(await readFile(serviceTemplate, "utf8"));
  const secrets = await ensureStackSecrets(clients.secrets, template, service, prefix);
  const groups = await targetGroupsByLogicalId(clients, template, service);
  const [rendered, environment] = await Promise.all([
    renderDeployedStack(clients.cfn, service, serviceTemplate, accountId, region, { ...groups, ...secrets }),
    renderDeployedStack(clients.cfn, stackName(prefix, "environment"), templateFile("environment"), accountId, region),
  ]);
  return serviceDefinition(rendered, environment);
}
