import { describe, expect, it } from "vitest";
import { clientConfig } from "../setup/lib/aws/clients.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LOCAL_IMAGES,
  OFFICIAL_IMAGES,
  readAwsSettings,
  readConfig,
  readImages,
  recordedImages,
} from "../setup/lib/config.ts";
import { imagesEnvFile } from "../setup/lib/local/images/index.ts";

describe("image names", () => {
  it("default to the official images", () => {
    expect(readImages({}, {})).toEqual(OFFICIAL_IMAGES);
  });

  it("come from LAB_MOTO_IMAGE and LAB_NODE_IMAGE when set, ignoring blanks", () => {
    expect(readImages({ LAB_MOTO_IMAGE: "my/moto:1", LAB_NODE_IMAGE: "  " }, {})).toEqual({
      ...OFFICIAL_IMAGES,
      moto: "my/moto:1",
    });
  });

  it("are recorded for .ci/env without overriding a value the user exported", () => {
    const file = imagesEnvFile({
      moto: { role: "moto", image: LOCAL_IMAGES.moto, action: "built", seconds: 1, detail: "" },
      node: { role: "node", image: OFFICIAL_IMAGES.node, action: "present", seconds: 0, detail: "" },
      build: { role: "build", image: LOCAL_IMAGES.build, action: "built", seconds: 1, detail: "" },
      registry: { role: "registry", image: LOCAL_IMAGES.registry, action: "present", seconds: 0, detail: "" },
      proxy: { role: "proxy", image: LOCAL_IMAGES.proxy, action: "built", seconds: 1, detail: "" },
    });
    expect(file).toContain(`export LAB_PROXY_IMAGE="\${LAB_PROXY_IMAGE:-${LOCAL_IMAGES.proxy}}"`);
    expect(file).toContain(`export LAB_BUILD_IMAGE="\${LAB_BUILD_IMAGE:-${LOCAL_IMAGES.build}}"`);
    expect(file).toContain(`export LAB_MOTO_IMAGE="\${LAB_MOTO_IMAGE:-${LOCAL_IMAGES.moto}}"`);
    expect(file).toContain(`export LAB_NODE_IMAGE="\${LAB_NODE_IMAGE:-${OFFICIAL_IMAGES.node}}"`);
  });

  it("are read back from what `npm run images` recorded, without `source .ci/env`; the environment still wins", () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-images-"));
    const recorded = join(dir, "images.env");
    writeFileSync(
      recorded,
      imagesEnvFile({
        moto: { role: "moto", image: LOCAL_IMAGES.moto, action: "built", seconds: 1, detail: "" },
        node: { role: "node", image: LOCAL_IMAGES.node, action: "built", seconds: 1, detail: "" },
        build: { role: "build", image: LOCAL_IMAGES.build, action: "built", seconds: 1, detail: "" },
        registry: { role: "registry", image: LOCAL_IMAGES.registry, action: "built", seconds: 1, detail: "" },
        proxy: { role: "proxy", image: LOCAL_IMAGES.proxy, action: "built", seconds: 1, detail: "" },
      }),
    );
    expect(readImages({}, recordedImages(recorded))).toEqual(LOCAL_IMAGES);
    expect(readImages({ LAB_NODE_IMAGE: "mine/node:24" }, recordedImages(recorded)).node).toBe("mine/node:24");
    expect(recordedImages(join(dir, "absent.env"))).toEqual({});
  });
});

describe("AWS settings and the client factory", () => {
  it("take the endpoint from AWS_ENDPOINT_URL and the region from REGION first", () => {
    const aws = readAwsSettings({
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      REGION: "eu-west-1",
      AWS_REGION: "us-west-2",
    });
    expect(aws).toEqual({ region: "eu-west-1", endpoint: "http://127.0.0.1:4566" });
  });

  it("never send a learner's profile or real credentials to an emulator", () => {
    const config = clientConfig(readAwsSettings({ AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_PROFILE: "work" }));
    expect(config.profile).toBeUndefined();
    expect(config.credentials).toEqual({ accessKeyId: "testing", secretAccessKey: "testing" });
    expect(config.forcePathStyle).toBe(true);
  });

  it("use the default credential chain (or the named profile) against AWS", () => {
    const config = clientConfig(readAwsSettings({ REGION: "eu-west-1", AWS_PROFILE: "work" }));
    expect(config).toMatchObject({ region: "eu-west-1", profile: "work" });
    expect(config.endpoint).toBeUndefined();
    expect(config.credentials).toBeUndefined();
  });

  it("is frozen, so nothing changes it after start-up", () => {
    const config = readConfig([], {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.aws)).toBe(true);
  });
});
