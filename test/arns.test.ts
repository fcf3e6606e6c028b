// ARNs shortened to their resource's name in narration.
import { describe, expect, it } from "vitest";
import { arnName, shortenArns } from "../setup/lib/ui/arns.ts";

describe("ARNs in narration", () => {
  it.each([
    [
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-service-Target-IRYP6FVPF5QI/50dc6c495c0c9188",
      "demo-service-Target-IRYP6FVPF5QI",
    ],
    ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188", "demo-alb"],
    [
      "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-service/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
      "demo-service",
    ],
    ["arn:aws:ecs:eu-west-1:123456789012:service/demo-cluster/demo-app", "demo-app"],
    ["arn:aws:iam::123456789012:role/demo-service-ExecutionRole-A1B2C3", "demo-service-ExecutionRole-A1B2C3"],
    ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:demo-jwt-AbCdEf", "demo-jwt-AbCdEf"],
  ])("%s → %s", (arn, name) => {
    expect(arnName(arn)).toBe(name);
  });

  it("shortens every ARN of an ECS event, and none with --verbose", () => {
    const tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-service-Target-X/50dc6c495c0c9188";
    const event = `(service demo-app) has stopped 1 running tasks: (task 6695a9279d0e): Task failed ELB health checks in (target-group ${tg})`;
    expect(shortenArns(event)).toBe(
      "(service demo-app) has stopped 1 running tasks: (task 6695a9279d0e): Task failed ELB health checks in (target-group demo-service-Target-X)",
    );
    expect(shortenArns(event, true)).toBe(event);
    expect(shortenArns("no ARN here")).toBe("no ARN here");
  });
});
