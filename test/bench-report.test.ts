import { describe, expect, it } from "vitest";
import { replaceSection } from "../bench/report.ts";
import { parseWrk } from "../bench/wrk.ts";

const WRK_OUTPUT = `Running 8s test @ http://127.0.0.1:40000/time
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.71ms  412.00us  12.02ms   88.10%
    Req/Sec    35.37k     1.20k   37.10k    80.00%
  Latency Distribution
     50%  822.00us
     75%    1.80ms
     90%    2.10ms
     99%    3.05ms
  284729 requests in 8.10s, 60.00MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  35151.73
Transfer/sec:      7.40MB
`;

describe("wrk output", () => {
  it("is read into requests/s, p50/p99 in ms, and failures", () => {
    expect(parseWrk(WRK_OUTPUT)).toEqual({
      requestsPerSecond: 35151.73,
      p50Ms: 0.822,
      p99Ms: 3.05,
      requests: 284729,
      errors: 6,
    });
  });

  it("is refused when it has no summary", () => {
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused")).toThrow(/no summary/);
  });
});

describe("benchmarks.md sections", () => {
  it("replace only their own section and keep the rest", () => {
    const doc = "# B\n\n<!-- bench:app -->\nold\n<!-- /bench:app -->\n\nhand-written notes\n";
    const out = replaceSection(doc, "app", "new");
    expect(out).toBe("# B\n\n<!-- bench:app -->\nnew\n<!-- /bench:app -->\n\nhand-written notes\n");
  });

  it("are appended when missing", () => {
    expect(replaceSection("# B\n", "run", "numbers")).toBe("# B\n\n<!-- bench:run -->\nnumbers\n<!-- /bench:run -->\n");
  });
});
