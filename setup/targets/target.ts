// Everything that differs between a real account and the local rehearsal
// lives behind this interface. Steps, checks, run, lesson and teardown call
// it and hold no branch on the target themselves. The local target grows
// stand-ins here (a build container, a registry, a load balancer, tasks)
// without the steps changing.
import type { MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import type { AlarmChange, AlarmWatch } from "../lib/aws/alarm-watch.ts";
import type { SeriesData, TimeWindow } from "../lib/aws/metric-data.ts";
import type { DeployOptions } from "../lib/aws/stacks.ts";
import type { AwsClients } from "../lib/aws/clients.ts";
import type { CurrentSource } from "../lib/aws/source.ts";
import type { AwsSettings, Config, TargetKind } from "../lib/config.ts";
import type { Narrator } from "../lib/ui/narrator.ts";

/** What a step, a check or teardown needs to know about where it runs. */
export interface TargetContext {
  readonly config: Config;
  readonly aws: AwsClients;
  readonly ui: Narrator;
  readonly signal: AbortSignal;
}

export interface Session {
  /** The Config with the emulator's endpoint filled in for the local target. */
  readonly config: Config;
  readonly accountId: string;
  /** Who the credentials are (STS GetCallerIdentity's ARN), where known. */
  readonly callerArn?: string;
  /** Said once, by the introduction (e.g. "carrying on with this prefix's emulator"). */
  readonly notice?: string;
}

export interface ReleaseInput {
  readonly source: CurrentSource;
  /** The artifact bucket (holds source.zip). */
  readonly bucket: string;
  /** The environment stack's AppUrl output. */
  readonly loadBalancerUrl: string | undefined;
}

export interface Release {
  /** Where the app answers. */
  readonly url: string;
  /** The version (image tag) released. */
  readonly version: string;
  /** What the learner should know about how it went, said after it (e.g. measured downtime). */
  readonly notes: readonly string[];
}

/** Hooks teardown calls at each point of its fixed order (setup/teardown.ts). */
export interface TeardownHooks {
  /** What, besides stacks and bucket versions, would be deleted (for --dry-run). */
  plan(): Promise<string[]>;
  /**
   * Besides the image repository and the bucket (teardown checks those), what has the
   * run's names on this target and must carry its tag before anything is touched.
   */
  otherOwnedResources(): Promise<Array<{ what: string; ownership: "ours" | "absent" | "foreign" }>>;
  /** Before any stack is deleted: nothing may start or continue a release. Returns what it did. */
  stopReleases(pipelineOutputs: Readonly<Record<string, string>>): Promise<string | undefined>;
  /**
   * Just before the monitoring stack is deleted: what CloudFormation deletes with it that this
   * target must delete itself (the rehearsal's alarms and dashboards). Returns what it removed.
   */
  beforeMonitoring(): Promise<string[]>;
  /** After the service stack is gone. Returns what it removed. */
  afterService(): Promise<string[]>;
  /** Just before the environment stack is deleted. */
  beforeEnvironment(vpcId: string | undefined): Promise<void>;
  /** After the pipeline and environment stacks are gone: the source and what builds left. */
  afterPipeline(): Promise<string[]>;
  /** After the bucket stack is deleted. */
  afterBucket(bucket: string | undefined): Promise<void>;
  /** What is really left besides the stacks (teardown checks those); `wait` shortens how long deletions may settle (tests). */
  leftovers(wait?: { maxWaitSeconds: number; minDelaySeconds: number }): Promise<string[]>;
  /** Last: remove the target itself where it is ours to remove (the emulator); what is left after. */
  finish(removeEmulator: boolean): Promise<{ removed: string[]; left: string[] }>;
}

export interface AlarmWatchInput {
  /** CloudWatch's names for the load balancer and the target group (app/…, targetgroup/…). */
  readonly loadBalancer: string;
  readonly targetGroup: string;
  readonly alarmNames: readonly string[];
  readonly onChange: (change: AlarmChange) => void;
}

export interface Target {
  readonly kind: TargetKind;
  /** "AWS eu-west-1" or "local rehearsal", for lists and summaries. */
  readonly label: string;
  /** The flags that point a command at this target, for the commands the narration suggests. */
  readonly flags: string;

  /**
   * Connects: the account behind the credentials, or the Docker engine and the
   * emulator. `start` false (teardown, listing lessons) finds a running
   * emulator but never starts one; then there may be no session.
   */
  open(options: { start: boolean }): Promise<Session | undefined>;
  /** Every SDK client a run needs, for this target's endpoint (made by the one client factory). */
  clients(aws: AwsSettings): AwsClients;
  /** Refuses (exit 2) a command that would create billable resources without a confirmation. */
  refuseUnconfirmed(): void;
  /** What this run will do and cost, said before anything is created, with the session's notice. */
  introduce(ui: Narrator, session: Session): void;
  /**
   * Checks, creating nothing, what would make the run fail (bin/run --plan): throws a ConfigError
   * (exit 2) naming each problem; resolves when there is none.
   */
  plan(ctx: TargetContext, session: Session): Promise<void>;
  /** Checks (the plan's checks) and asks before anything is created; false when the person said no. */
  approve(ctx: TargetContext, session: Session, ask: (question: string) => Promise<boolean>): Promise<boolean>;
  /** Stack deploy settings, with progress bound by the caller to a spinner. */
  deployOptions(onLine: (text: string) => void, log: (text: string) => void): DeployOptions;

  /** Whether step 02 may try CodeCommit (the emulator stores no commits). */
  readonly triesCodeCommit: boolean;
  /** Said in the steps where the target does something differently, once each. */
  readonly notes: {
    readonly source?: string;
    readonly stacks?: string;
    readonly release?: string;
    /** Step 06: what the target shows of a release its deployment stopped. */
    readonly failedRelease?: string;
    loadBalancer(url: string): string;
  };

  /**
   * After the pipeline stack is deployed (step 03): what the target's services
   * do with it that its CloudFormation did not. Returns a line to say, if any.
   */
  pipelineDeployed(ctx: TargetContext): Promise<string | undefined>;
  /** Releases the seeded revision and follows it to its end (steps 04, 05). */
  release(ctx: TargetContext, input: ReleaseInput): Promise<Release>;
  /** Where the released app answers now, read only (checks, recovery). */
  appUrl(ctx: Omit<TargetContext, "ui" | "signal">, loadBalancerUrl: string | undefined): Promise<string | undefined>;
  /** Whether a release narrates the ECS service's events as they happen (the rehearsal's stand-in does). */
  readonly narratesServiceEvents: boolean;
  /** The ECS service's recent events, newest first (DescribeServices on AWS), read only. */
  serviceEvents(ctx: Omit<TargetContext, "ui" | "signal">): Promise<string[]>;
  /** How long the app may take to turn healthy after a release. */
  readonly healthWaitSeconds: number;

  /**
   * After the monitoring stack is deployed (step 07): what the target's services do with it that
   * its CloudFormation did not. Returns a line to say, if any.
   */
  monitoringDeployed(ctx: TargetContext): Promise<string | undefined>;
  /** Step 07: follows the alarms while the lesson makes the app slow, reporting each change of state. */
  watchAlarms(ctx: TargetContext, watch: AlarmWatchInput): Promise<AlarmWatch>;
  /** Step 07: how long one alarm period (60 s on AWS) lasts on this target, in seconds. */
  readonly alarmPeriodSeconds: number;
  /** Step 07: GetMetricData as CloudWatch answers it, queries' periods on AWS's clock, read only. */
  metricData(
    ctx: Omit<TargetContext, "ui" | "signal">,
    queries: readonly MetricDataQuery[],
    window: TimeWindow,
  ): Promise<SeriesData[]>;
  /** Step 07: where the dashboard picture's data comes from, and on what clock (under its title). */
  readonly metricDataNote: string;

  /** At the end of a run: the local rehearsal removes itself unless --keep. */
  finishRun(ctx: TargetContext, teardown: () => Promise<void>): Promise<void>;
  /** Before bin/teardown deletes anything: says where, and asks on a terminal where it matters. */
  approveTeardown(ui: Narrator, session: Session, ask: (question: string) => Promise<boolean>): Promise<boolean>;
  teardown(ctx: TargetContext): TeardownHooks;
}
