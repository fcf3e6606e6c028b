// A build's environment, as CodeBuild composes it: what CodeBuild sets in
// every build, then the project's variables, then the action's, then
// start-build overrides, each winning over the one before (and all over the
// buildspec's own `env.variables`). In the rehearsal the overrides also carry
// what stands in for AWS: the emulator in place of the project's service role,
// the local registry in place of ECR, the local Node base in place of ECR Public.
import { randomUUID } from "node:crypto";
import type { EnvironmentVariable } from "@aws-sdk/client-codebuild";
import { SOURCE_DIR } from "./paths.ts";

export interface BuildContext {
  readonly projectName: string;
  readonly buildNumber: number;
  readonly region: string;
  readonly accountId: string;
  /** The project's environment image (aws/codebuild/standard:7.0 …), as CodeBuild reports it. */
  readonly projectImage: string;
  /** Who started it, e.g. codepipeline/<pipeline>. */
  readonly initiator: string;
  /** The primary source: its S3 location and the revision it was (an object version, a commit). */
  readonly sourceVersion: string;
  readonly resolvedSourceVersion: string;
}

/** A build id as CodeBuild makes them: <project>:<uuid>. */
export const newBuildId = (projectName: string): string => `${projectName}:${randomUUID()}`;

/** What CodeBuild sets in every build. */
export function codebuildVariables(buildId: string, b: BuildContext): Record<string, string> {
  return {
    AWS_REGION: b.region,
    AWS_DEFAULT_REGION: b.region,
    CODEBUILD_BUILD_ID: buildId,
    CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${b.region}:${b.accountId}:build/${buildId}`,
    CODEBUILD_BUILD_NUMBER: String(b.buildNumber),
    CODEBUILD_BUILD_IMAGE: b.projectImage,
    CODEBUILD_INITIATOR: b.initiator,
    CODEBUILD_SRC_DIR: SOURCE_DIR,
    CODEBUILD_SOURCE_VERSION: b.sourceVersion,
    CODEBUILD_RESOLVED_SOURCE_VERSION: b.resolvedSourceVersion,
    CODEBUILD_START_TIME: String(Date.now()),
  };
}

/** Variables as name → value (PLAINTEXT only: the build stand-in resolves no parameters or secrets). */
export const variablesOf = (variables: readonly EnvironmentVariable[]): Record<string, string> =>
  Object.fromEntries(variables.map((v) => [v.name ?? "", v.value ?? ""]));

/** An ECR repository URI: <account>.dkr.ecr.<region>.amazonaws.com/<name>. */
const ECR_URI = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/(.+)$/;

/** The project's variables that name an ECR repository, with that repository's name. */
export function ecrVariables(variables: readonly EnvironmentVariable[]): Array<{ name: string; repository: string }> {
  return variables.flatMap((v) => {
    const repository = ECR_URI.exec(v.value ?? "")?.[1];
    return v.name && repository ? [{ name: v.name, repository }] : [];
  });
}

export interface StandIns {
  /** The emulator's endpoint, in place of AWS (it accepts any credentials). */
  readonly endpoint: string;
  /** The local registry's address, in place of ECR's. */
  readonly registry: string;
  /** The local Node base image, in place of ECR Public's. */
  readonly nodeImage: string;
}

/**
 * Everything the rehearsal passes to a build because there is no AWS here,
 * as start-build overrides (they win over the project's and the buildspec's
 * values, exactly as CodeBuild's environmentVariablesOverride does).
 */
export function rehearsalOverrides(
  standIns: StandIns,
  ecr: ReadonlyArray<{ name: string; repository: string }>,
): Record<string, string> {
  const overrides: Record<string, string> = {
    // In place of the project's service role: the emulator, which accepts any credentials (none are secret).
    AWS_ENDPOINT_URL: standIns.endpoint,
    AWS_ACCESS_KEY_ID: "rehearsal",
    AWS_SECRET_ACCESS_KEY: "rehearsal",
    // The Node base: the image `npm run images` made, not ECR Public's (no registry answers here).
    NODE_IMAGE: standIns.nodeImage,
    // `docker build` reaches the npm registry through the host's network on these machines.
    DOCKER_BUILD_NETWORK: "host",
  };
  // ECR's registry is the local one: the same repository name under its address.
  for (const { name, repository } of ecr) overrides[name] = `${standIns.registry}/${repository}`;
  return overrides;
}
