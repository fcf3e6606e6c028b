// Names derived from the prefix, in one place: stacks, tags, and what the
// templates name the same way (the ECR repository, the CodeCommit repository).
import { fileURLToPath } from "node:url";

/** Every stack, and through it every resource, carries this tag with the prefix as value. */
export const PREFIX_TAG = "aws-cicd-lab:prefix";

export type StackRole = "bucket" | "pipeline" | "environment" | "service";

export const TEMPLATE_DIR = fileURLToPath(new URL("../../../infra/", import.meta.url));

export function templateFile(role: StackRole): string {
  return `${TEMPLATE_DIR}${role}.yaml`;
}

export function stackName(prefix: string, role: StackRole): string {
  return `${prefix}-${role}`;
}

export function prefixTags(prefix: string): Record<string, string> {
  return { [PREFIX_TAG]: prefix };
}

/** Named in pipeline.yaml as `${Prefix}-app`; service.yaml relies on the same name. */
export function ecrRepositoryName(prefix: string): string {
  return `${prefix}-app`;
}

/** The report the buildspecs publish (their `reports:` key); CodeBuild names its group <project>-<report>. */
export const BUILDSPEC_REPORT = "lab-app-tests";

/** The report groups CodeBuild creates for the Test and Build projects (pipeline.yaml names them <prefix>-test, <prefix>-build). */
export function reportGroupNames(prefix: string): string[] {
  return [`${prefix}-test-${BUILDSPEC_REPORT}`, `${prefix}-build-${BUILDSPEC_REPORT}`];
}
