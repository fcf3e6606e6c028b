import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../src/config.ts";

const secret = "x".repeat(32);

describe("configuration", () => {
  it("has defaults for everything but the secret", () => {
    expect(readConfig({ JWT_SECRET: secret })).toEqual({
      port: 8080,
      host: "0.0.0.0",
      logLevel: "info",
      jwtSecret: secret,
      version: "dev",
    });
  });

  it("reads PORT, HOST, LOG_LEVEL and APP_VERSION", () => {
    expect(
      readConfig({ JWT_SECRET: secret, PORT: "3000", HOST: "127.0.0.1", LOG_LEVEL: "WARN", APP_VERSION: "1.4.0" }),
    ).toMatchObject({
      port: 3000,
      host: "127.0.0.1",
      logLevel: "warn",
      version: "1.4.0",
    });
  });

  it("fails with a message naming JWT_SECRET when it is missing", () => {
    expect(() => readConfig({})).toThrow(ConfigError);
    expect(() => readConfig({})).toThrow(/JWT_SECRET is not set/);
  });

  it("fails when JWT_SECRET is shorter than 32 characters, saying how long it is", () => {
    expect(() => readConfig({ JWT_SECRET: "short" })).toThrow(
      /JWT_SECRET is 5 characters long; it must be at least 32/,
    );
  });

  it.each(["0", "65536", "80a", "-1"])("rejects PORT=%s", (port) => {
    expect(() => readConfig({ JWT_SECRET: secret, PORT: port })).toThrow(/PORT must be/);
  });

  it("rejects an unknown LOG_LEVEL, listing the known ones", () => {
    expect(() => readConfig({ JWT_SECRET: secret, LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL must be one of .*info/);
  });
});
