// Every name derived from the prefix, in one place: stacks, tags, and what the
// templates name the same way (repositories, the pipeline, its trigger, the
// service's task family, the builds' report groups), plus the source's key and
// branch. Templates are data; where they name something, the name is mirrored
// here with the template line it must match.
import { fileURLToPath } from "node:url";

/** Every stack, and through it every resource, carries this tag with the prefix as value. */
export const PREFIX_TAG = "aws-cicd-lab:prefix";

/** The stacks, in the order a run creates them (teardown deletes in reverse, see setup/teardown.ts). */
export const STACK_ROLES = ["bucket", "pipeline", "environment", "service", "monitoring"] as const;
export type StackRole = (typeof STACK_ROLES)[number];

export const TEMPLATE_DIR = fileURLToPath(new URL("../../../infra/", import.meta.url));

export function templateFile(role: StackRole): string {
  return `${TEMPLATE_DIR}${role}.yaml`;
}

/**
 * What each stack's deploy acknowledges, as its template needs it (CloudFormation refuses less):
 * the pipeline names an IAM resource (its service boundary's ManagedPolicyName); the service stack
 * has unnamed roles (pipeline.yaml's Deploy action passes this value); the others have no IAM resource.
 */
export const STACK_CAPABILITIES = Object.freeze({
  bucket: [],
  pipeline: ["CAPABILITY_NAMED_IAM"],
  environment: [],
  service: ["CAPABILITY_IAM"],
  monitoring: [],
} as const satisfies Record<StackRole, readonly ("CAPABILITY_IAM" | "CAPABILITY_NAMED_IAM")[]>);

export function stackName(prefix: string, role: StackRole): string {
  return `${prefix}-${role}`;
}

export function prefixTags(prefix: string): Record<string, string> {
  return { [PREFIX_TAG]: prefix };
}

/** The source.zip key in the artifact bucket (pipeline.yaml's SourceObjectKey default). */
export const SOURCE_KEY = "source.zip";

/** The branch whose pushes start the pipeline (pipeline.yaml's BranchName default). */
export const BRANCH = "main";

/** pipeline.yaml: the ECR repository `${Prefix}-app`; service.yaml's pull permission relies on it. */
export function ecrRepositoryName(prefix: string): string {
  return `${prefix}-app`;
}

/** The CodeCommit repository step 02 creates and pipeline.yaml's RepositoryName names. */
export function codeCommitRepositoryName(prefix: string): string {
  return `${prefix}-app`;
}

/** pipeline.yaml: Pipeline's Name `${Prefix}-pipeline`. */
export function pipelineName(prefix: string): string {
  return `${prefix}-pipeline`;
}

/** pipeline.yaml: the EventBridge rule `${Prefix}-start-pipeline` (output TriggerRuleName). */
export function triggerRuleName(prefix: string): string {
  return `${prefix}-start-pipeline`;
}

/** pipeline.yaml, CodeCommit source only: the rule starting a run on a release tag (output ReleaseTagRuleName). */
export function releaseTagRuleName(prefix: string): string {
  return `${prefix}-start-pipeline-on-tag`;
}

/** service.yaml: the task definition family `${Prefix}-app`. */
export function taskFamily(prefix: string): string {
  return `${prefix}-app`;
}

/** The report the Test buildspec publishes (its `reports:` key); CodeBuild names its group <project>-<report>. */
export const BUILDSPEC_REPORT = "lab-app-tests";

/**
 * The report groups CodeBuild creates: the Test project's (pipeline.yaml names it <prefix>-test).
 * The Build project publishes none: the tests run once, in the LintAndUnitTests action.
 */
export function reportGroupNames(prefix: string): string[] {
  return [`${prefix}-test-${BUILDSPEC_REPORT}`];
}

/** infra/monitoring.yaml's names (lesson 07): the alarms, the dashboard, the topic and the inbox queue. */
export function monitoringNames(prefix: string) {
  return {
    latencyAlarm: `${prefix}-latency-p90`,
    errorsAlarm: `${prefix}-target-5xx`,
    dashboard: `${prefix}-app`,
    topic: `${prefix}-alarms`,
    inbox: `${prefix}-alarm-inbox`,
  };
}
