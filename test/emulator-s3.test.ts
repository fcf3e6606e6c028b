// First proof of the chain: Docker → emulator image → client factory → S3.
import { CreateBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { connectDocker } from "../setup/lib/local/engine/client.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();

describe("S3 through the emulator", () => {
  it("creates a bucket and lists it, with a client from the factory honouring AWS_ENDPOINT_URL", async () => {
    expect(fixture.config.aws.endpoint).toBe(fixture.emulator.endpoint);
    const s3 = emulatorClient(S3Client, fixture.config.aws);
    const bucket = `lab-proof-${Date.now()}`;

    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const listed = await s3.send(new ListBucketsCommand({}));

    expect(listed.Buckets?.map((b) => b.Name)).toContain(bucket);
  });

  it("fails, rather than passes, once the emulator is gone", async () => {
    const s3 = emulatorClient(S3Client, fixture.config.aws);
    await fixture.emulator.stop();

    await expect(s3.send(new ListBucketsCommand({}))).rejects.toThrow();
    const docker = await connectDocker();
    const stillThere = await docker.container.dockerode.listContainers({
      all: true,
      filters: { id: [fixture.emulator.containerId] },
    });
    expect(stillThere).toEqual([]);
  });
});
