// The ECS service stand-in's canary deployment (setup/lib/local/ecs/service.ts
// with canary.ts) with real containers behind the real HAProxy stand-in, the
// production rule and the alarm in the emulator: green's tasks in the
// alternate target group, the canary's share of real requests, the weights
// shifted in the emulator (ModifyRule) and applied by the proxy, and an alarm
// in ALARM during the bake sending production back to blue with no request
// failed, the canary's slow answers in flight included. The task image is a
// few lines of Node answering its version (version 2 after 1.5 s).
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from "@aws-sdk/client-cloudwatch";
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { readImages } from "../setup/lib/config.ts";
import type { CanaryResult } from "../setup/lib/local/ecs/canary.ts";
import type { ServiceDefinition } from "../setup/lib/local/ecs/definition.ts";
import { listTasks, rollOutService } from "../setup/lib/local/ecs/service.ts";
import { ensureLoadBalancer, type LoadBalancer, removeTaskNetwork } from "../setup/lib/local/elbv2/load-balancer.ts";
import { ruleWeights } from "../setup/lib/local/elbv2/rule-weights.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { removeContainers } from "../setup/lib/local/engine/client.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { probe } from "../setup/lib/probe.ts";
import { serviceTargetGroup } from "./support/service-template.ts";

const fixture = useEmulator();
const PREFIX = "canary-test";
const IMAGE = "aws-cicd-lab-test/canary-task:1";
const ALARM = `${PREFIX}-latency-p90`;
const images = readImages(process.env);

const SERVER = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  if (req.url === "/health") return res.end();
  // Version 2 is the slow release: 1.5 s an answer, as lesson 08's.
  const send = () => res.end(JSON.stringify({ version: process.env.VERSION }));
  if (process.env.VERSION === "2") setTimeout(send, 1500); else send();
});
server.listen(8080);
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

let lb: LoadBalancer;
let elb: ElasticLoadBalancingV2Client;
let cw: CloudWatchClient;
const arns = { blue: "", green: "", rule: "" };

function definition(version: string): ServiceDefinition {
  return {
    serviceName: `${PREFIX}-app`,
    taskDefinition: `${PREFIX}-app`,
    desiredCount: 2,
    memoryMiB: 512,
    minimumHealthyPercent: 100,
    maximumPercent: 200,
    healthCheckGracePeriodSeconds: 10,
    circuitBreaker: { enable: true, rollback: true },
    strategy: {
      kind: "CANARY",
      canaryPercent: 20,
      // Long enough on the alarms' clock (20× faster: 12 s) for the test to count the canary's share.
      canaryBakeMinutes: 4,
      bakeMinutes: 1,
      alarms: { names: [ALARM], enable: true, rollback: true },
      alternateTargetGroupArn: arns.green,
      productionListenerRule: arns.rule,
    },
    container: {
      name: "app",
      image: IMAGE,
      port: 8080,
      environment: { VERSION: version },
      secrets: {},
      readonlyRootFilesystem: true,
      stopTimeoutSeconds: 15,
    },
    targetGroup: serviceTargetGroup(PREFIX),
    targetGroupArn: arns.blue,
    listener: { defaultResponse: { status: 503, contentType: "application/json", body: "{}" }, forwardPaths: ["/*"] },
  };
}

const rollOut = (version: string, onEvent: (e: string) => void = () => {}) =>
  rollOutService({
    prefix: PREFIX,
    service: definition(version),
    secretValues: {},
    network: lb.network,
    speedup: 10,
    lb,
    elb,
    cw,
    say: onEvent,
  }) as Promise<CanaryResult>;

/** Requests one after the other until stopped: how many each version answered, and how many failed. */
function countVersions(): { stop(): Promise<{ versions: Record<string, number>; failed: number }> } {
  const versions: Record<string, number> = {};
  let failed = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const answer = await probe<{ version: string }>(lb.url);
      if (answer.status === 200 && answer.json)
        versions[answer.json.version] = (versions[answer.json.version] ?? 0) + 1;
      else failed += 1;
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return { versions, failed };
    },
  };
}

async function cleanUp(): Promise<void> {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
  await removeTaskNetwork(PREFIX);
}

beforeAll(async () => {
  await cleanUp();
  const aws = fixture.config.aws;
  elb = emulatorClient(ElasticLoadBalancingV2Client, aws);
  cw = emulatorClient(CloudWatchClient, aws);
  const ec2 = emulatorClient(EC2Client, aws);
  // The environment as the emulator holds it: a VPC, two subnets, the load balancer and its listener.
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.50.0.0/16" }))).Vpc?.VpcId;
  const subnets = await Promise.all(
    ["10.50.0.0/24", "10.50.1.0/24"].map(
      async (CidrBlock, i) =>
        (
          await ec2.send(
            new CreateSubnetCommand({ VpcId: vpc, CidrBlock, AvailabilityZone: `${aws.region}${"ab"[i]}` }),
          )
        ).Subnet?.SubnetId ?? "",
    ),
  );
  const alb = (await elb.send(new CreateLoadBalancerCommand({ Name: `${PREFIX}-alb`, Subnets: subnets })))
    .LoadBalancers?.[0]?.LoadBalancerArn;
  const listener = (
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: alb,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503" } }],
      }),
    )
  ).Listeners?.[0]?.ListenerArn;
  for (const color of ["blue", "green"] as const)
    arns[color] =
      (
        await elb.send(
          new CreateTargetGroupCommand({
            Name: `${PREFIX}-${color}`,
            Protocol: "HTTP",
            Port: 8080,
            VpcId: vpc,
            TargetType: "ip",
          }),
        )
      ).TargetGroups?.[0]?.TargetGroupArn ?? "";
  // As lesson 08's template makes it: forwarding to both, weights 1 and 0.
  arns.rule =
    (
      await elb.send(
        new CreateRuleCommand({
          ListenerArn: listener,
          Priority: 1,
          Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*"] } }],
          Actions: [
            {
              Type: "forward",
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: arns.blue, Weight: 1 },
                  { TargetGroupArn: arns.green, Weight: 0 },
                ],
              },
            },
          ],
        }),
      )
    ).Rules?.[0]?.RuleArn ?? "";
  await cw.send(
    new PutMetricAlarmCommand({
      AlarmName: ALARM,
      Namespace: "AWS/ApplicationELB",
      MetricName: "TargetResponseTime",
      ExtendedStatistic: "p90",
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: "GreaterThanThreshold",
    }),
  );
  await cw.send(new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: "OK", StateReason: "test" }));

  const dir = await mkdtemp(join(tmpdir(), "canary-test-"));
  await writeFile(join(dir, "server.js"), SERVER);
  await writeFile(
    join(dir, "Dockerfile"),
    'ARG BASE\nFROM ${BASE}\nCOPY server.js /srv/server.js\nUSER node\nCMD ["node", "/srv/server.js"]\n',
  );
  await buildImage(dir, { t: IMAGE, buildargs: { BASE: images.node } });
  await rm(dir, { recursive: true, force: true });
  const service = definition("1");
  lb = await ensureLoadBalancer({
    prefix: PREFIX,
    image: images.proxy,
    listener: service.listener,
    targetGroup: service.targetGroup,
    speedup: 10,
  });
}, 180_000);
afterAll(cleanUp, 60_000);

describe("the ECS service stand-in's canary deployment", () => {
  it("deploys a first revision into the group without production weight, then moves all of it there", async () => {
    const result = await rollOut("1");
    expect(result).toMatchObject({ outcome: "steady", started: 2, stage: "CLEAN_UP" });
    expect(await ruleWeights(elb, arns.rule)).toEqual({ [arns.blue]: 0, [arns.green]: 100 });
    expect((await probe<{ version: string }>(lb.url)).json?.version).toBe("1");
  }, 90_000);

  it("rolls back when the alarm goes off during the canary's bake: 0 failed, the canary's share went to green", async () => {
    const traffic = countVersions();
    let canaryCounts: { versions: Record<string, number>; failed: number } | undefined;
    const result = await rollOut("2", (event) => {
      // While the canary holds its share: count a window of requests (six users: the canary's answers
      // take 1.5 s), then the alarm goes off.
      if (!/shifted 20% of production traffic to/.test(event)) return;
      const users = Array.from({ length: 6 }, () => countVersions());
      setTimeout(() => {
        void (async () => {
          const counted = await Promise.all(users.map((u) => u.stop()));
          const versions: Record<string, number> = {};
          for (const c of counted)
            for (const [v, n] of Object.entries(c.versions)) versions[v] = (versions[v] ?? 0) + n;
          canaryCounts = { versions, failed: counted.reduce((n, c) => n + c.failed, 0) };
          await cw.send(new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: "ALARM", StateReason: "test" }));
        })();
      }, 4_000);
    });
    const seen = await traffic.stop();
    expect(result).toMatchObject({
      outcome: "rolled back",
      stage: "PRODUCTION_TRAFFIC_SHIFT",
      rollbackReason: `alarm ${ALARM} is in ALARM`,
    });
    expect(seen.failed).toBe(0);
    expect(canaryCounts?.failed).toBe(0);
    // The canary's share of the window within ±10 points of the template's 20 %.
    const counted = canaryCounts?.versions ?? {};
    const total = (counted["1"] ?? 0) + (counted["2"] ?? 0);
    expect(total).toBeGreaterThan(50);
    expect(Math.abs((counted["2"] ?? 0) / total - 0.2)).toBeLessThanOrEqual(0.1);
    // Production is back on version 1, in the emulator and at the proxy; green is gone.
    expect(await ruleWeights(elb, arns.rule)).toEqual({ [arns.blue]: 0, [arns.green]: 100 });
    expect((await listTasks(PREFIX)).filter((t) => t.running).map((t) => t.image)).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect((await probe<{ version: string }>(lb.url)).json?.version).toBe("1");
  }, 90_000);

  it("an alarm in ALARM when the next deployment begins is ignored: the canary succeeds, blue is cleaned up", async () => {
    const traffic = countVersions();
    const result = await rollOut("3");
    const seen = await traffic.stop();
    expect(result).toMatchObject({ outcome: "steady", stopped: 2 });
    expect(seen.failed).toBe(0);
    expect(await ruleWeights(elb, arns.rule)).toEqual({ [arns.blue]: 100, [arns.green]: 0 });
    expect((await listTasks(PREFIX)).filter((t) => t.running)).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect((await probe<{ version: string }>(lb.url)).json?.version).toBe("3");
  }, 90_000);
});
