// Lesson 08: the service moves to a canary; a slow release takes a fifth of production until the
// latency alarm rolls it back; the fix's canary succeeds.
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/08-release-to-a-few-first.ts";
import { lesson } from "../setup/lesson.ts";
import { CANARY } from "../setup/lib/changes/canary-template.ts";
import { ruleWeights } from "../setup/lib/local/elbv2/rule-weights.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-08";
const h = useLesson(fixture, prefix);

describe("lesson 08: release to a few first", { timeout: 600_000 }, () => {
  it("is not done after bin/lesson 08 --prepare (lessons 01-04 and 07 run, all it needs)", async () => {
    expect(await h.prepareFor("08"), h.narration).toEqual(["01", "02", "03", "04", "07"]);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(false);
    expect(result.message).toBe(
      "The service has no release rolled back by an alarm in its events yet. Run `bin/lesson 08`.",
    );
  });

  it("is done after bin/lesson 08: the slow canary rolled back by the alarm, no request failed, the fix took over", async () => {
    expect(await lesson(["08", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass, result.message).toBe(true);
    const narration = h.narration.slice(h.narration.indexOf("Step 08 · Lesson"));
    // The slow release: a canary's share, the flip back to blue, the Deploy action failed; and the alarm
    // (its change is said by the alarm watch, which may print it just after ECS reacted to it).
    expect(narration).toMatch(
      /shifted 20% of production traffic to[\s\S]*deployment failed: alarm detected; rolling back[\s\S]*shifted 100% of production traffic back to[\s\S]*The Deploy stage failed, as it should/,
    );
    expect(narration).toMatch(/shifted 20% of production traffic to[\s\S]*latency-p90: OK → ALARM/);
    expect(narration).toMatch(/\d+ requests to GET \/ during the release, 0 failed: users saw no failure/);
    const share = /While the canary held its share, (\d+) of (\d+) requests \((\d+) %/.exec(narration);
    expect(share, narration).not.toBeNull();
    expect(Number(share?.[2])).toBeGreaterThanOrEqual(20);
    // Within ten points of the template's share.
    expect(Math.abs(Number(share?.[1]) / Number(share?.[2]) - CANARY.percent / 100)).toBeLessThanOrEqual(0.1);
    // The fix: its canary succeeded, every release counted without a failure.
    expect(narration).toMatch(/The fix took over after its canary/);
    expect([...narration.matchAll(/during the release, (\d+) failed/g)].map((m) => m[1])).toEqual(["0", "0", "0"]);

    const cw = emulatorClient(CloudWatchClient, fixture.config.aws);
    expect(
      (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [`${prefix}-latency-p90`] }))).MetricAlarms?.[0]
        ?.StateValue,
    ).toBe("OK");
    // Production on one target group, by the rule's weights in the emulator.
    const elb = emulatorClient(ElasticLoadBalancingV2Client, fixture.config.aws);
    const weights = Object.values(await ruleWeightsOfService(elb));
    expect(weights.sort()).toEqual([0, 100]);
  });
});

/** The weights of the listener rule forwarding to the service's two target groups. */
async function ruleWeightsOfService(elb: ElasticLoadBalancingV2Client): Promise<Record<string, number>> {
  const lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [`${prefix}-alb`] }))).LoadBalancers?.[0];
  const listener = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn })))
    .Listeners?.[0];
  const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener?.ListenerArn }))).Rules ?? [];
  const rule = rules.find((r) => r.Actions?.some((a) => (a.ForwardConfig?.TargetGroups ?? []).length === 2));
  return ruleWeights(elb, rule?.RuleArn ?? "");
}
