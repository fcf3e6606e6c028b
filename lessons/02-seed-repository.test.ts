// Lesson 02: the app seeded where the pipeline takes it from (locally: source.zip).
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/02-seed-repository.ts";
import { lesson } from "../setup/lesson.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-02";
const h = useLesson(fixture, prefix);
const bucket = `${prefix}-artifacts-123456789012-us-east-1`;

describe("lesson 02: seed the repository", () => {
  it("is not done on a fresh account", async () => {
    expect((await check(h.checkContext())).pass).toBe(false);
  });

  it("is not done after bin/lesson 02 --prepare (lesson 01 run), and says to run lesson 02", async () => {
    expect(await h.prepareFor("02"), h.narration).toEqual(["01"]);
    expect(h.narration).toContain("Ready for lesson 02");
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message:
        "The app is not seeded yet: no CodeCommit branch main and no source.zip in the bucket. Run `bin/lesson 02`.",
    });
  });

  it("is done after bin/lesson 02: source.zip holds the app, infra/service.yaml and VERSION, without node_modules", async () => {
    expect(await lesson(["02", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(true);
    expect(result.message).toMatch(/source\.zip, version s3-[0-9a-f]{10}/);

    const object = await h.checkContext().aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "source.zip" }));
    const files = Object.keys(
      unzipSync(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
    );
    expect(files).toEqual(
      expect.arrayContaining([
        "Dockerfile",
        "buildspec.yml",
        "package-lock.json",
        "src/app.ts",
        "scripts/image-tag.sh",
        "infra/service.yaml",
        "VERSION",
      ]),
    );
    expect(files.some((f) => f.startsWith("node_modules/"))).toBe(false);
  });
});
