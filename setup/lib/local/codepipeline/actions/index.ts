// What each action provider does in the rehearsal, by the ActionTypeId
// provider CodePipeline reads: the S3 source, CodeBuild, and the
// CloudFormation deploy action.
import type { S3Client } from "@aws-sdk/client-s3";
import type { ActionProvider } from "../run.ts";
import { type CloudFormationActionDeps, cloudFormationAction } from "./cloudformation.ts";
import { type CodeBuildActionDeps, codeBuildAction } from "./codebuild.ts";
import { type Revisions, s3SourceAction } from "./s3-source.ts";

export interface LocalActionDeps extends CodeBuildActionDeps, Omit<CloudFormationActionDeps, "cfn"> {
  readonly clients: CodeBuildActionDeps["clients"] & {
    readonly s3: S3Client;
    readonly cfn: CloudFormationActionDeps["cfn"];
  };
}

export function localProviders(deps: LocalActionDeps): Record<string, ActionProvider> {
  /** Source revision of each artifact a source action produced (the revision CodeBuild resolves for it). */
  const revisions: Revisions = new Map();
  return {
    S3: s3SourceAction(deps.clients.s3, revisions),
    CodeBuild: codeBuildAction(deps, revisions),
    CloudFormation: cloudFormationAction({ ...deps, cfn: deps.clients.cfn }),
  };
}
