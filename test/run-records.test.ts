// The records of where this machine made runs: one file per prefix and place,
// so runs side by side never lose each other's record.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  describePlace,
  forget,
  placeOf,
  placesOf,
  recordsDir,
  remember,
  samePlace,
  teardownCommand,
} from "../setup/lib/run-records.ts";

const AWS = { target: "aws", region: "eu-west-1", account: "111122223333" } as const;
const LOCAL = { target: "local" } as const;

describe("run records", () => {
  it("live in LAB_STATE_DIR, else under the home folder", () => {
    expect(recordsDir({ LAB_STATE_DIR: "/x/runs", HOME: "/home/me" })).toBe("/x/runs");
    expect(recordsDir({ HOME: "/home/me" })).toBe("/home/me/.aws-cicd-lab/runs");
  });

  it("remembers each place once, keeping the first date, and forgets one place without touching the others", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lab-runs-")), "runs");
    expect(await remember(dir, "demo", AWS)).toBeUndefined();
    const [first] = await placesOf(dir, "demo");
    expect(await remember(dir, "demo", AWS)).toBeUndefined();
    expect(await remember(dir, "demo", LOCAL)).toBeUndefined();
    expect(await remember(dir, "demo", { ...AWS, region: "us-east-1" })).toBeUndefined();
    expect(await remember(dir, "demo-2", LOCAL)).toBeUndefined();

    const places = await placesOf(dir, "demo");
    expect(places.map(describePlace)).toEqual([
      "AWS account 111122223333 in eu-west-1",
      "AWS account 111122223333 in us-east-1",
      "the local rehearsal",
    ]);
    expect(places[0]?.since).toBe(first?.since);

    await forget(dir, "demo", AWS);
    expect((await placesOf(dir, "demo")).map(describePlace)).toEqual([
      "AWS account 111122223333 in us-east-1",
      "the local rehearsal",
    ]);
    expect(await placesOf(dir, "demo-2")).toHaveLength(1);
  });

  it("skips a record it cannot read, and reads nothing from a folder that does not exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-runs-"));
    writeFileSync(join(dir, "demo@local.json"), "{ half");
    await remember(dir, "demo", AWS);
    expect((await placesOf(dir, "demo")).map(describePlace)).toEqual(["AWS account 111122223333 in eu-west-1"]);
    expect(await placesOf(join(dir, "missing"), "demo")).toEqual([]);
  });

  it("says why it could not record, instead of failing the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-runs-"));
    writeFileSync(join(dir, "file"), "");
    expect(await remember(join(dir, "file", "runs"), "demo", LOCAL)).toMatch(/file\/runs\/demo@local\.json: .*ENOTDIR/);
    expect(readdirSync(dir)).toEqual(["file"]);
  });

  it("names the place and the command that reaches it, in a checkout and in the demo image", () => {
    const config = { target: "aws", aws: { region: "eu-west-1" } } as const;
    expect(placeOf(config, "111122223333")).toEqual(AWS);
    expect(placeOf({ ...config, target: "local" }, "123456789012")).toEqual(LOCAL);
    expect(samePlace(AWS, { ...AWS, account: "444455556666" })).toBe(false);
    const record = { ...AWS, prefix: "team-7", since: "2026-11-29T10:00:00.000Z" };
    expect(teardownCommand(record, false)).toBe("bin/teardown --region eu-west-1 --prefix team-7");
    expect(teardownCommand(record, true)).toBe("teardown --region eu-west-1 --prefix team-7");
    expect(teardownCommand({ ...LOCAL, prefix: "team-7", since: record.since }, false)).toBe(
      "bin/teardown --target local --prefix team-7",
    );
  });
});
