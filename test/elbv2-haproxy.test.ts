// The listener and the target group in HAProxy's terms
// (setup/lib/local/elbv2/settings.ts, haproxy.ts): settings read from the
// template's properties, the configuration rendered from them, and HAProxy's
// statistics read back as check reports. Pure functions, no proxy.
import { describe, expect, it } from "vitest";
import { checkReports, expectStatus, haproxyConfig, pathRegex } from "../setup/lib/local/elbv2/haproxy.ts";
import {
  checkIntervalMs,
  checkTimeoutMs,
  deregistrationDelayMs,
  type ListenerSettings,
  type TargetGroupSettings,
  targetGroupSettings,
} from "../setup/lib/local/elbv2/settings.ts";

const TARGET_GROUP: TargetGroupSettings = {
  port: 8080,
  healthCheckPath: "/health",
  intervalSeconds: 5,
  timeoutSeconds: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  successCodes: "200",
  deregistrationDelaySeconds: 10,
};

const LISTENER: ListenerSettings = {
  defaultResponse: { status: 503, contentType: "application/json", body: '{"error":"not_deployed"}' },
  forwardPaths: ["/*"],
};

describe("the target group's settings", () => {
  it("are AWS's defaults where the template sets nothing", () => {
    expect(targetGroupSettings({})).toEqual({
      port: 80,
      healthCheckPath: "/",
      intervalSeconds: 30,
      timeoutSeconds: 5,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      successCodes: "200",
      deregistrationDelaySeconds: 300,
    });
  });

  it("are read from the properties, numbers given as strings included", () => {
    const settings = targetGroupSettings({
      Port: "8080",
      HealthCheckPath: "/health",
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: "2",
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Matcher: { HttpCode: "200-299" },
      TargetGroupAttributes: [
        { Key: "stickiness.enabled", Value: "false" },
        { Key: "deregistration_delay.timeout_seconds", Value: "10" },
      ],
    });
    expect(settings).toEqual({ ...TARGET_GROUP, unhealthyThreshold: 3, successCodes: "200-299" });
  });

  it("give the timers in rehearsal milliseconds, the check timeout never under a second, draining never under 5 s", () => {
    expect(checkIntervalMs(TARGET_GROUP, 10)).toBe(500);
    expect(checkTimeoutMs(TARGET_GROUP, 10)).toBe(1_000);
    expect(checkTimeoutMs(TARGET_GROUP, 1)).toBe(2_000);
    // 10 s ten times faster would be 1 s, shorter than a slow request takes here: at least 5 s.
    expect(deregistrationDelayMs(TARGET_GROUP, 10)).toBe(5_000);
    expect(deregistrationDelayMs({ ...TARGET_GROUP, deregistrationDelaySeconds: 300 }, 10)).toBe(30_000);
    expect(deregistrationDelayMs({ ...TARGET_GROUP, deregistrationDelaySeconds: 2 }, 10)).toBe(2_000);
  });
});

describe("a listener rule's path pattern", () => {
  const matches = (pattern: string, path: string) => new RegExp(pathRegex(pattern)).test(path);

  it("is an anchored regular expression: * any characters, ? exactly one", () => {
    expect(pathRegex("/*")).toBe("^/.*$");
    expect(pathRegex("/api/*")).toBe("^/api/.*$");
    expect(pathRegex("/img/?.png")).toBe("^/img/.\\.png$");
    expect(matches("/api/*", "/api/users/1")).toBe(true);
    expect(matches("/api/*", "/apix")).toBe(false);
    expect(matches("/api/*", "/v1/api/x")).toBe(false);
    expect(matches("/img/?.png", "/img/a.png")).toBe(true);
    expect(matches("/img/?.png", "/img/ab.png")).toBe(false);
  });

  it("matches its other characters literally", () => {
    expect(matches("/v1.0/*", "/v1.0/x")).toBe(true);
    expect(matches("/v1.0/*", "/v1x0/x")).toBe(false);
    expect(matches("/a+b(c)", "/a+b(c)")).toBe(true);
    expect(matches("/a+b(c)", "/aab")).toBe(false);
  });
});

describe("a Matcher's HttpCode", () => {
  const accepts = (codes: string, status: number) =>
    new RegExp(expectStatus(codes).replace("http-check expect rstatus ", "")).test(String(status));

  it("one code", () => {
    expect(expectStatus("200")).toBe("http-check expect rstatus ^(200)$");
  });

  it("a list of codes", () => {
    expect(expectStatus("200,302")).toBe("http-check expect rstatus ^(200|302)$");
    expect(expectStatus("200, 302")).toBe("http-check expect rstatus ^(200|302)$");
    expect(accepts("200,302", 302)).toBe(true);
    expect(accepts("200,302", 301)).toBe(false);
  });

  it("a range, every code in it and no other", () => {
    const expectation = expectStatus("200-299");
    expect(expectation).toMatch(/^http-check expect rstatus \^\(200\|201\|202\|.*\|298\|299\)\$$/);
    expect(expectation.split("|")).toHaveLength(100);
    for (const status of [200, 204, 250, 299]) expect(accepts("200-299", status)).toBe(true);
    for (const status of [199, 300, 2000]) expect(accepts("200-299", status)).toBe(false);
  });

  it("ranges and codes together", () => {
    expect(expectStatus("200-202,302")).toBe("http-check expect rstatus ^(200|201|202|302)$");
  });
});

describe("the HAProxy configuration", () => {
  const lines = (config: string) => config.split("\n");

  it("forwards what the rule's path patterns match and answers the rest with the default action", () => {
    const config = haproxyConfig({
      listener: { ...LISTENER, forwardPaths: ["/api/*", "/health"] },
      targetGroup: TARGET_GROUP,
      speedup: 10,
    });
    expect(lines(config)).toEqual(
      expect.arrayContaining([
        "  stats socket ipv4@0.0.0.0:9999 level admin",
        "  bind :8080",
        "  acl forwarded path -m reg ^/api/.*$ ^/health$",
        '  http-request return status 503 content-type "application/json" string "{\\"error\\":\\"not_deployed\\"}" if !forwarded',
        "  use_backend tg if forwarded",
        "backend tg",
        "  option httpchk GET /health",
        "  http-check expect rstatus ^(200)$",
        "  timeout check 1000ms",
      ]),
    );
  });

  it("with no rule forwarding (no service yet), answers every request with the default action", () => {
    const config = haproxyConfig({
      listener: { ...LISTENER, forwardPaths: [] },
      targetGroup: TARGET_GROUP,
      speedup: 1,
    });
    expect(config).not.toContain("use_backend");
    expect(config).not.toContain("acl forwarded");
    expect(lines(config)).toContain(
      '  http-request return status 503 content-type "application/json" string "{\\"error\\":\\"not_deployed\\"}"',
    );
    expect(config).toContain("timeout check 2000ms");
  });

  it("checks the target group's path with its matcher and timeout", () => {
    const config = haproxyConfig({
      listener: LISTENER,
      targetGroup: { ...TARGET_GROUP, healthCheckPath: "/ready", successCodes: "200,302", timeoutSeconds: 30 },
      speedup: 10,
    });
    expect(config).toContain("option httpchk GET /ready");
    expect(config).toContain("http-check expect rstatus ^(200|302)$");
    expect(config).toContain("timeout check 3000ms");
  });
});

/**
 * `show stat` from the proxy image (HAProxy 2.6.12), recorded 3 s after three
 * servers were registered as registerTarget does (checks every 500 ms, rise 2,
 * fall 2): one passing, one refusing connections, one answering no HTTP, that
 * last one then set to drain.
 */
const SHOW_STAT = [
  "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,",
  "listener,FRONTEND,,,0,1,9985,6,234,714,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,2,0,2,,,,0,0,0,0,6,0,,2,2,6,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,2,2,6,6,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,6,6,144,786,0,0,",
  "tg,task-up,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,100,1,0,0,1,2,1,,1,3,1,,0,,2,0,,0,L7OK,503,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,2,3,,,,127.0.0.1:8080,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
  "tg,task-refused,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,100,1,0,0,1,3,3,,1,3,2,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,2,0,,,,127.0.0.1:1,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
  "tg,task-wrong,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,100,1,0,0,1,0,0,,1,3,3,,0,,2,0,,0,L7RSP,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 invalid response,,2,2,0,,,,127.0.0.1:9999,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
  "tg,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,100,1,0,,0,2,6,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,100,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,18,18,50011,288,0,0,",
].join("\n");

describe("HAProxy's statistics", () => {
  it("become one check report per server of the target group, frontends and backend totals left out", () => {
    expect(checkReports(SHOW_STAT)).toEqual([
      { id: "task-up", status: "UP", checkStatus: "L7OK", failedChecks: 0, lastChangeSeconds: 2, connections: 0 },
      {
        id: "task-refused",
        status: "DOWN",
        checkStatus: "L4CON",
        // chkfail counts only failures while up: this one never was.
        failedChecks: 0,
        lastChangeSeconds: 3,
        connections: 0,
      },
      // A server that is down stays DOWN when set to drain (and its last change is now).
      { id: "task-wrong", status: "DOWN", checkStatus: "L7RSP", failedChecks: 0, lastChangeSeconds: 0, connections: 0 },
    ]);
  });

  it("with no server, are no report", () => {
    const [header = "", frontend = "", , , , backend = ""] = SHOW_STAT.split("\n");
    expect(checkReports([header, frontend, backend].join("\n"))).toEqual([]);
    expect(checkReports("")).toEqual([]);
  });
});
