// The demo image: `docker build -t demo .`, then what a learner sees from
// `docker run demo --help`, from `docker run demo` with neither a region nor
// the Docker socket, and from the AWS command with a Linux host's ~/.aws.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsClients } from "../setup/lib/aws/clients.ts";
import { readImages } from "../setup/lib/config.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { connectDocker, requireImage } from "../setup/lib/local/engine/client.ts";
import { RUN_LABEL } from "../setup/lib/local/engine/labels.ts";
import { MotoContainer } from "../setup/lib/local/emulator/moto.ts";

const image = `aws-cicd-lab/demo:test-${Date.now()}`;
const root = join(import.meta.dirname, "..");

interface RunOptions {
  readonly Entrypoint?: string[];
  readonly Env?: string[];
  readonly User?: string;
  readonly HostConfig?: Record<string, unknown>;
}

async function runImage(cmd: string[], options: RunOptions = {}): Promise<{ code: number; output: string }> {
  const docker = (await connectDocker()).container.dockerode;
  let output = "";
  const sink = new PassThrough();
  sink.on("data", (c: Buffer) => (output += c.toString()));
  const [result, container] = (await docker.run(image, cmd, [sink, sink], {
    Tty: false,
    ...options,
    Labels: { [RUN_LABEL]: inject("labRunId") },
    HostConfig: { AutoRemove: false, ...options.HostConfig },
  })) as [{ StatusCode: number }, { remove(o: object): Promise<void> }];
  await container.remove({ force: true });
  return { code: result.StatusCode, output };
}

/**
 * AWS_ENDPOINT_URL_<SERVICE> for every client the project makes and for the
 * SDK's own credential clients (SSO, SSO OIDC, STS, Signin): the SDK sends each
 * service's calls there. (The project refuses AWS_ENDPOINT_URL itself on the AWS
 * target, and with it sends fixed emulator credentials, never the learner's.)
 */
function endpointForEveryClient(endpoint: string): string[] {
  const services = new Set(["SSO", "SSO OIDC", "STS", "Signin"]);
  for (const client of Object.values(awsClients({ region: "eu-west-1" })))
    services.add((client as { config: { serviceId: string } }).config.serviceId);
  return [...services].map((id) => `AWS_ENDPOINT_URL_${id.toUpperCase().replaceAll(" ", "_")}=${endpoint}`);
}

beforeAll(async () => {
  await buildImage(root, { t: image, buildargs: { NODE_IMAGE: readImages(process.env).node } });
}, 600_000);

afterAll(async () => {
  const docker = (await connectDocker()).container.dockerode;
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => undefined);
});

describe("the demo image", () => {
  it("prints the walk-through's help with --help", async () => {
    const { code, output } = await runImage(["--help"]);
    expect(code).toBe(0);
    expect(output).toMatch(/Usage: bin\/run[\s\S]*--target aws\|local[\s\S]*bin\/teardown/);
  });

  it("without a region or the Docker socket, explains both ways to start it in three lines, exit 2", async () => {
    const { code, output } = await runImage([]);
    expect(code).toBe(2);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/AWS: +docker run -it --rm -e REGION=eu-west-1 .* demo/);
    expect(lines[1]).toContain(
      '--user "$(id -u):$(id -g)" -v ~/.aws:/home/lab/.aws:ro -v ~/.aws-cicd-lab:/home/lab/.aws-cicd-lab demo',
    );
    expect(lines[2]).toMatch(/local: +docker run -it --network host -v \/var\/run\/docker\.sock/);
  });

  it("rehearses locally with the Docker socket and the host's network, and cleans up after itself", async () => {
    const docker = (await connectDocker()).container.dockerode;
    const socketGroup = String((await import("node:fs")).statSync("/var/run/docker.sock").gid);
    let output = "";
    const sink = new PassThrough();
    sink.on("data", (c: Buffer) => (output += c.toString()));
    const images = readImages(process.env);
    // Up to step 04: what this tests is the image (the Docker socket, the host's network, cleaning up);
    // the later steps are the walk-through test's.
    const args = ["--prefix", "lab-demo", "--until", "04"];
    const [result, container] = (await docker.run(image, args, [sink, sink], {
      Tty: false,
      Env: [`LAB_MOTO_IMAGE=${images.moto}`, `LAB_NODE_IMAGE=${images.node}`, "CI=true"],
      HostConfig: {
        NetworkMode: "host",
        Binds: ["/var/run/docker.sock:/var/run/docker.sock"],
        GroupAdd: [socketGroup],
      },
    })) as [{ StatusCode: number }, { remove(o: object): Promise<void> }];
    await container.remove({ force: true });
    expect(result.StatusCode, output).toBe(0);
    expect(output).toMatch(/answers as version s3-[0-9a-f]{10}/);
    expect(output).toContain("rehearsal removed");
  }, 300_000);

  it("dispatches `teardown`, `lesson` and `run` to bin/teardown, bin/lesson and bin/run", async () => {
    const teardown = await runImage(["teardown", "--help"]);
    expect(teardown.code).toBe(0);
    expect(teardown.output).toMatch(/Usage: bin\/teardown[\s\S]*--dry-run/);
    const lesson = await runImage(["lesson", "--help"]);
    expect(lesson.code).toBe(0);
    expect(lesson.output).toMatch(/Usage: bin\/lesson[\s\S]*--prepare/);
    const run = await runImage(["run", "--help"]);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/Usage: bin\/run/);
  });

  it("draws lesson 07's dashboard picture: the PNG renderer's prebuilt binary and its font are in the image", async () => {
    const script = `
      const { drawDashboard } = await import("/lab/setup/lib/ui/dashboard-picture.ts");
      const at = new Date("2026-12-08T01:00:00Z");
      const { svg, png } = await drawDashboard({
        dashboard: "lab-demo-app", note: "in the image", alarms: [], window: { start: at, end: new Date(+at + 120000) },
        widgets: [{ type: "metric", x: 0, y: 0, width: 24, height: 6, title: "Requests", thresholds: [],
          series: [{ id: "m0", label: "requests", namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions: [], stat: "Sum", period: 60 }] }],
        series: [{ id: "m0", label: "requests", points: [{ at, value: 3 }, { at: new Date(+at + 60000), value: 5 }] }],
      });
      // The same SVG without any font: no text is drawn, so the PNG is smaller.
      const { Resvg } = await import("@resvg/resvg-js");
      const bare = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [] } }).render().asPng();
      console.log(svg.includes(">Requests</text>"), png.subarray(1, 4).toString("latin1"), png.length, bare.length);`;
    const { code, output } = await runImage(["--input-type=module", "-e", script], { Entrypoint: ["node"] });
    expect(code, output).toBe(0);
    const [hasTitle, magic, size, bare] = output.trim().split(" ");
    expect([hasTitle, magic]).toEqual(["true", "PNG"]);
    // Its text is drawn, with the font the package ships: a third larger than the same picture without a font.
    expect(Number(size), output).toBeGreaterThan(1.3 * Number(bare));
  });

  it("runs as an unprivileged user and holds no credentials or secrets", async () => {
    const { output } = await runImage(["-c", "id -u; ls -a /home/lab; env"], { Entrypoint: ["sh"] });
    const [uid] = output.trim().split("\n");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(output).not.toMatch(/AWS_SECRET_ACCESS_KEY|JWT_SECRET|\.aws\b/);
  });

  it("gives any uid (--user) /home/lab as a home it can write to", async () => {
    const { code, output } = await runImage(["-c", 'id -u; echo "$HOME"; touch "$HOME/probe" && echo writable'], {
      Entrypoint: ["sh"],
      User: "4242:4242",
    });
    expect(code, output).toBe(0);
    expect(output.trim().split("\n")).toEqual(["4242", "/home/lab", "writable"]);
  });

  // A Linux host's ~/.aws: 0600 files owned by the host user, shared with the container under that
  // uid (4242 here: neither the image's user nor this process's). Run as the README says (--user,
  // read-only mount), `demo teardown --dry-run` reads the profile, asks STS who this is and lists
  // what it would delete; run without --user (the image's own user), it finds no credentials.
  // Nothing can leave this machine: every client's calls go to the emulator on an internal Docker
  // network (no route out), whose DNS server is 127.0.0.1 in the container, where none listens;
  // instance metadata is turned off.
  it.skipIf(process.getuid?.() !== 0)(
    "on AWS, reads a Linux host's ~/.aws (0600, another uid) when run with --user as the README says",
    async () => {
      const client = await connectDocker();
      const docker = client.container.dockerode;
      const images = readImages(process.env);
      await requireImage(client, images.moto, "LAB_MOTO_IMAGE");
      const home = mkdtempSync(join(tmpdir(), "lab-host-home-"));
      const aws = join(home, ".aws");
      mkdirSync(aws, { mode: 0o700 });
      writeFileSync(
        join(aws, "credentials"),
        "[workshop]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
      );
      writeFileSync(join(aws, "config"), "[profile workshop]\nregion = eu-west-1\noutput = json\n");
      for (const path of [aws, join(aws, "credentials"), join(aws, "config")]) {
        chmodSync(path, path === aws ? 0o700 : 0o600);
        chownSync(path, 4242, 4242);
      }
      const network = `aws-cicd-lab-demo-aws-${Date.now()}`;
      await docker.createNetwork({ Name: network, Internal: true, Labels: { [RUN_LABEL]: inject("labRunId") } });
      const emulator = await new MotoContainer(images.moto).withRunId(inject("labRunId")).start();
      try {
        await docker.getNetwork(network).connect({ Container: emulator.containerId });
        const info = await docker.getContainer(emulator.containerId).inspect();
        const address = info.NetworkSettings.Networks[network]?.IPAddress;
        expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        const run = (user: string | undefined) =>
          runImage(["teardown", "--dry-run"], {
            ...(user ? { User: user } : {}),
            Env: [
              "REGION=eu-west-1",
              "AWS_PROFILE=workshop",
              "CI=true",
              "NO_COLOR=1",
              "AWS_EC2_METADATA_DISABLED=true",
              ...endpointForEveryClient(`http://${address}:5000`), // moto's own port on that network
            ],
            HostConfig: { NetworkMode: network, Dns: ["127.0.0.1"], Binds: [`${aws}:/home/lab/.aws:ro`] },
          });

        const asYou = await run("4242:4242");
        expect(asYou.code, asYou.output).toBe(0);
        expect(asYou.output).toMatch(/would delete: CodeCommit repository demo-app[\s\S]*would delete: images in ECR/);
        expect(asYou.output).not.toMatch(/credentials|could not be reached/i);

        const asImageUser = await run(undefined);
        expect(asImageUser.code, asImageUser.output).toBe(2);
        expect(asImageUser.output).toContain("No AWS credentials were found.");
      } finally {
        await emulator.stop();
        await docker.getNetwork(network).remove();
        rmSync(home, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
