// The local rehearsal: what the emulator (moto, in a container) cannot do for
// the walk-through, done by real local parts that say so, one folder per AWS
// service they stand in for. Real AWS needs none of it. Where each gap is:
//   - cloudformation/: the refusals its CloudFormation does not make
//     (capabilities.ts; parameters.ts, for the Deploy action), how stack
//     changes reach it (direct.ts: its change sets record no outputs or
//     exports), a deployed stack rendered from the template file (render.ts:
//     its GetTemplate answers with unescaped XML, its DescribeStackResources
//     loses ids of a stack updated more than once), and the resource
//     providers that finish what it skips (providers.ts);
//   - codepipeline/: it runs no pipeline; its CloudFormation skips
//     AWS::CodePipeline::Pipeline (pipelines.ts holds it as the template
//     defines it), and answers with ISO timestamps (emulator/clients.ts);
//   - codebuild/: it runs no build; its CloudFormation skips
//     AWS::CodeBuild::Project (projects.ts); the buildspec runs in a build
//     container with CodeBuild's phase rules (phases.ts) and environment;
//   - ecr/: its ECR has no registry: a Distribution registry on 127.0.0.1,
//     kept holding the same images as its ECR (mirror.ts);
//   - ecs/: its ECS services run no tasks, and its CloudFormation does not
//     wait for a steady service: the service provider rolls tasks out with
//     ECS's rolling deployment and circuit breaker, and records its events;
//   - elbv2/: its load balancer forwards nothing: HAProxy from the listener
//     and target group, with the ALB's health model. One difference stays:
//     with no healthy target HAProxy answers 503, where the ALB fails open;
//   - secretsmanager/: its CloudFormation skips the secret: made as
//     CloudFormation makes it;
//   - cloudwatch/, sns/: its CloudFormation skips alarms, dashboards and
//     subscriptions: made from the rendered template (monitoring.ts puts the
//     monitoring stack together), and alarms and dashboards deleted with it;
//   - ec2/, s3/: what its CloudFormation does not delete (a VPC's gateway and
//     route tables; the bucket of a deleted stack).
// Around them: engine/ (the Docker engine, no AWS words), emulator/ (moto,
// its clients and image), images/ (`npm run images`, collecting each
// stand-in's recipe), clock.ts (the rehearsal's speed-up and floors) and
// release.ts (a release through the pipeline the emulator holds).
// This module is what setup/targets/local.ts uses of it.
export { CLOUDWATCH_SPEEDUP, REHEARSAL_SPEEDUP } from "./clock.ts";
export { directOperations } from "./cloudformation/direct.ts";
export { renderDeployedStack } from "./cloudformation/render.ts";
export { holdPipeline, releaseHeldPipeline } from "./codepipeline/pipelines.ts";
export { releaseVpcForDelete } from "./ec2/vpc.ts";
export { deleteRegistryImages, ensureRegistry, REGISTRY_VOLUME, removeEngineImages } from "./ecr/registry.ts";
export { readServiceEvents } from "./ecs/events.ts";
export { loadBalancerUrl, removeTaskNetwork, taskNetwork } from "./elbv2/load-balancer.ts";
export { emulatorClients } from "./emulator/clients.ts";
export { EMULATOR_ACCOUNT_ID, MotoContainer } from "./emulator/moto.ts";
export { ensureEmulator } from "./emulator/rehearsal.ts";
export { connectDocker, removeContainers, requireImage, useRyukIfAvailable } from "./engine/client.ts";
export { findRehearsal } from "./engine/rehearsal.ts";
export { holdMonitoring, monitoringStack, releaseHeldMonitoring, watchAlarms } from "./monitoring.ts";
export { rehearsalMetricData } from "./cloudwatch/metric-data.ts";
export { releaseLocally } from "./release.ts";
export { deleteBucketLeftBehind } from "./s3/bucket.ts";
