// Every endpoint and error path, over real HTTP against the app on an ephemeral port.
import { hostname } from "node:os";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TIME_MESSAGE } from "../src/app.ts";
import { SECRET, startTestServer, type TestServer } from "./helpers.ts";

let app: TestServer;
beforeAll(async () => {
  app = await startTestServer();
});
afterAll(async () => {
  await app.close();
});

async function call(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown>; type: string }> {
  const res = await fetch(`${app.url}${path}`, init);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: (await res.json()) as Record<string, unknown>,
  };
}

const postJson = (body: string, type = "application/json"): RequestInit => ({
  method: "POST",
  headers: { "content-type": type },
  body,
});

async function getToken(email = "learner@example.com"): Promise<string> {
  const { status, body } = await call("/auth", postJson(JSON.stringify({ email, password: "s3cret" })));
  expect(status).toBe(200);
  return body.token as string;
}

const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });
const key = new TextEncoder().encode(SECRET);

function expectError(
  res: { status: number; body: Record<string, unknown>; type: string },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/json/);
  expect(res.body.error).toBe(code);
  expect(typeof res.body.message).toBe("string");
  expect((res.body.message as string).length).toBeGreaterThan(10);
}

describe("GET /health", () => {
  it("answers ok", async () => {
    expect(await call("/health")).toMatchObject({ status: 200, body: { status: "ok" } });
  });
});

describe("GET /", () => {
  it("names the service, the version it was built as and the host", async () => {
    const { status, body } = await call("/");
    expect(status).toBe(200);
    expect(body).toEqual({ service: "lab-app", version: "1.2.3", hostname: hostname() });
  });
});

describe("GET /time", () => {
  it("returns the message and the current time in whole unix seconds", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await call("/time");
    const after = Math.floor(Date.now() / 1000);
    expect(status).toBe(200);
    expect(body.message).toBe(TIME_MESSAGE);
    expect(Number.isInteger(body.timestamp)).toBe(true);
    expect(body.timestamp).toBeGreaterThanOrEqual(before);
    expect(body.timestamp).toBeLessThanOrEqual(after);
  });
});

describe("POST /auth and GET /contents", () => {
  it("issue an HS256 token valid for one hour whose claims /contents returns", async () => {
    const token = await getToken();
    const [header] = token.split(".");
    expect(JSON.parse(Buffer.from(header as string, "base64url").toString())).toMatchObject({ alg: "HS256" });

    const { status, body } = await call("/contents", bearer(token));
    expect(status).toBe(200);
    expect(body).toMatchObject({ sub: "learner@example.com", email: "learner@example.com" });
    expect((body.exp as number) - (body.iat as number)).toBe(3600);
  });

  it.each([
    ["a missing email", { password: "x" }, "invalid_email"],
    ["a non-string email", { email: 42, password: "x" }, "invalid_email"],
    ["a malformed email", { email: "not-an-email", password: "x" }, "invalid_email"],
    ["an email with spaces", { email: "a b@example.com", password: "x" }, "invalid_email"],
    ["a missing password", { email: "a@example.com" }, "invalid_password"],
    ["a non-string password", { email: "a@example.com", password: ["x"] }, "invalid_password"],
    ["an empty password", { email: "a@example.com", password: "" }, "invalid_password"],
    ["a JSON array", ["a@example.com", "x"], "invalid_body"],
    ["a JSON string", "a@example.com", "invalid_body"],
  ])("reject %s with 400", async (_what, body, code) => {
    expectError(await call("/auth", postJson(JSON.stringify(body))), 400, code);
  });

  it("rejects malformed JSON with 400", async () => {
    expectError(await call("/auth", postJson('{"email": "a@example.com",')), 400, "malformed_json");
  });

  it("rejects a body that is not JSON with 415", async () => {
    expectError(
      await call("/auth", postJson("email=a@example.com&password=x", "application/x-www-form-urlencoded")),
      415,
      "unsupported_media_type",
    );
  });

  it("rejects a body over 10 kB with 413", async () => {
    const body = JSON.stringify({ email: "a@example.com", password: "x".repeat(11 * 1024) });
    expectError(await call("/auth", postJson(body)), 413, "body_too_large");
  });

  it("accepts a body just under 10 kB", async () => {
    const body = JSON.stringify({ email: "a@example.com", password: "x".repeat(1000), pad: "y".repeat(9000) });
    expect((await call("/auth", postJson(body))).status).toBe(200);
  });

  it("rejects a missing Authorization header with 401", async () => {
    expectError(await call("/contents"), 401, "unauthorized");
  });

  it("rejects a malformed header or token with 401", async () => {
    expectError(await call("/contents", { headers: { authorization: "Basic abc" } }), 401, "unauthorized");
    expectError(await call("/contents", bearer("not-a-jwt")), 401, "unauthorized");
    expectError(await call("/contents", bearer("a.b.c")), 401, "unauthorized");
  });

  it("rejects an expired token with 401", async () => {
    const expired = await new SignJWT({ email: "a@example.com" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(key);
    const res = await call("/contents", bearer(expired));
    expectError(res, 401, "unauthorized");
    expect(res.body.message).toMatch(/expired/);
  });

  it("rejects a tampered token with 401", async () => {
    const [header, , signature] = (await getToken()).split(".");
    const forged = Buffer.from(
      JSON.stringify({ sub: "admin@example.com", email: "admin@example.com", exp: 9999999999 }),
    ).toString("base64url");
    expectError(await call("/contents", bearer(`${header}.${forged}.${signature}`)), 401, "unauthorized");
  });

  it("rejects a token signed with another key with 401", async () => {
    const other = await new SignJWT({ email: "a@example.com" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another-secret-that-is-32-characters-or-more"));
    expectError(await call("/contents", bearer(other)), 401, "unauthorized");
  });

  it("rejects a token with another algorithm, even with the right key, with 401", async () => {
    const hs512 = await new SignJWT({ email: "a@example.com" })
      .setProtectedHeader({ alg: "HS512" })
      .setExpirationTime("1h")
      .sign(key);
    expectError(await call("/contents", bearer(hs512)), 401, "unauthorized");
  });

  it('rejects an unsigned token (alg "none") with 401', async () => {
    const none = new UnsecuredJWT({ email: "a@example.com" }).setExpirationTime("1h").encode();
    expectError(await call("/contents", bearer(none)), 401, "unauthorized");
  });
});

describe("GET /sleep/:seconds", () => {
  it("waits, then answers", async () => {
    const started = performance.now();
    expect(await call("/sleep/1")).toMatchObject({ status: 200, body: { slept: 1 } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("answers at once for 0", async () => {
    expect(await call("/sleep/0")).toMatchObject({ status: 200, body: { slept: 0 } });
  });

  it.each(["31", "-1", "1.5", "abc", "1e1", "01", "999999999999999999999", "%20"])(
    "rejects %s with 400, never 500",
    async (raw) => {
      expectError(await call(`/sleep/${raw}`), 400, "invalid_seconds");
    },
  );
});

describe("everything else", () => {
  it("answers an unknown route with a JSON 404", async () => {
    const res = await call("/nope");
    expectError(res, 404, "not_found");
    expect(res.body.message).toContain("GET /nope");
  });

  it("answers a known path with another method with a JSON 404", async () => {
    expectError(await call("/time", { method: "DELETE" }), 404, "not_found");
  });

  it("sends no framework banner", async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.headers.get("x-powered-by")).toBeNull();
  });
});

describe("request log", () => {
  it("writes one JSON line per request with method, path, status and duration, and no query string", async () => {
    const before = app.logs.length;
    await call("/time?email=secret@example.com");
    await new Promise((r) => setTimeout(r, 20));
    const lines = app.logs.slice(before).filter((l) => l.msg === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: "GET", path: "/time", status: 200, level: 30 });
    expect(typeof lines[0]?.durationMs).toBe("number");
    expect(JSON.stringify(lines[0])).not.toContain("secret");
  });
});
