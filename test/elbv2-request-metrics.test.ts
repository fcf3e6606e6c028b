// The load balancer stand-in's metrics (setup/lib/local/elbv2/request-metrics.ts):
// HAProxy's request lines read, and a period's requests as the ALB's metric data.
import type { MetricDatum } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { statisticOf } from "../setup/lib/local/cloudwatch/alarm-rules.ts";
import {
  parseRequestLine,
  periodMetrics,
  type RequestRecord,
  samplesOf,
} from "../setup/lib/local/elbv2/request-metrics.ts";

const at = new Date("2026-11-29T10:05:00Z");
const answered = (seconds: number, status = 200): RequestRecord => ({
  at,
  status,
  target: true,
  targetSeconds: seconds,
});

describe("the proxy's request lines", () => {
  it("reads a target's answer, the listener's own, and nothing else", () => {
    expect(parseRequestLine("2026-11-29T10:05:01.250000000Z lab-request tr=2003 status=200 server=tg/t-1a2b")).toEqual({
      at: new Date("2026-11-29T10:05:01.250Z"),
      status: 200,
      target: true,
      targetSeconds: 2.003,
    });
    expect(parseRequestLine("2026-11-29T10:05:01.300000000Z lab-request tr=-1 status=503 server=<NOSRV>")).toEqual({
      at: new Date("2026-11-29T10:05:01.300Z"),
      status: 503,
      target: false,
    });
    expect(parseRequestLine("2026-11-29T10:05:01Z [WARNING] Server tg/t-1a2b is DOWN")).toBeUndefined();
    // The client closed the connection before the answer (termination state CD): a 460, no target time.
    expect(
      parseRequestLine("2026-11-29T10:05:02.000000000Z lab-request tr=2003 status=200 server=tg/t-1a2b end=CD--"),
    ).toEqual({ at: new Date("2026-11-29T10:05:02.000Z"), status: 460, target: false });
    expect(
      parseRequestLine("2026-11-29T10:05:02.000000000Z lab-request tr=5 status=200 server=tg/t-1a2b end=----"),
    ).toMatchObject({ status: 200, target: true, targetSeconds: 0.005 });
  });
});

describe("a period's metrics", () => {
  const base = { loadBalancer: "app/demo-alb/50dc6c495c0c9188", targetGroup: "targetgroup/demo-T/73e2", timestamp: at };

  it("publishes the ALB's metrics with its dimensions, and no zero counts", () => {
    const data = periodMetrics({
      ...base,
      requests: [answered(0.01), answered(0.02), answered(2.0, 500), { at, status: 503, target: false }],
      healthy: 2,
      unhealthy: 1,
    });
    const byName: Record<string, MetricDatum> = Object.fromEntries(data.map((d) => [d.MetricName ?? "", d]));
    expect(Object.keys(byName).sort()).toEqual([
      "HTTPCode_ELB_5XX_Count",
      "HTTPCode_Target_2XX_Count",
      "HTTPCode_Target_5XX_Count",
      "HealthyHostCount",
      "RequestCount",
      "TargetResponseTime",
      "UnHealthyHostCount",
    ]);
    expect(byName.RequestCount).toMatchObject({
      Value: 4,
      Unit: "Count",
      Dimensions: [{ Name: "LoadBalancer", Value: base.loadBalancer }],
    });
    expect(byName.HTTPCode_Target_5XX_Count?.Value).toBe(1);
    expect(byName.HTTPCode_ELB_5XX_Count?.Value).toBe(1);
    expect(byName.HealthyHostCount).toMatchObject({
      Value: 2,
      Dimensions: [
        { Name: "TargetGroup", Value: base.targetGroup },
        { Name: "LoadBalancer", Value: base.loadBalancer },
      ],
    });
    expect(byName.TargetResponseTime).toMatchObject({ Unit: "Seconds", Values: [0.01, 0.02, 2], Counts: [1, 1, 1] });
  });

  it("publishes no response time without a request, and keeps every request's time for percentiles", () => {
    expect(periodMetrics({ ...base, requests: [], healthy: 2, unhealthy: 0 }).map((d) => d.MetricName)).toEqual([
      "HealthyHostCount",
      "UnHealthyHostCount",
    ]);
    // 300 requests at 200 distinct times: two data of at most 150 values, counts kept.
    const requests = Array.from({ length: 300 }, (_, i) => answered((i % 200) / 1000));
    const data = periodMetrics({ ...base, requests, healthy: 2, unhealthy: 0 });
    const times = data.filter((d) => d.MetricName === "TargetResponseTime");
    expect(times.map((d) => d.Values?.length)).toEqual([150, 50]);
    const samples = samplesOf(data, "TargetResponseTime");
    expect(samples).toHaveLength(300);
    // 0–99 ms twice, 100–199 ms once: the 270th of 300 is 169 ms.
    expect(statisticOf(samples, "p90")).toBe(0.169);
  });
});
