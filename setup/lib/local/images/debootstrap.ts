// Root filesystems from Debian's packages (debootstrap --variant=minbase),
// made into images: how the base images are built where no registry answers.
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./process.ts";

/** The host's CA bundle, which includes any TLS-intercepting proxy's CA. */
export const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

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
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = (await readFile("/proc/self/mounts", "utf8").catch(() => ""))
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run("umount", ["-l", point]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

export async function debootstrap(
  suite: string,
  packages: readonly string[],
  rootfs: string,
  logFile: string,
): Promise<void> {
  const mirror = await aptMirror();
  const args = ["--variant=minbase", `--include=${packages.join(",")}`, suite, rootfs, ...(mirror ? [mirror] : [])];
  await run("debootstrap", args, { logFile });
}

/** Trust the host's CAs (a TLS-intercepting proxy's included) and drop what an image never needs. */
export async function finishRootfs(rootfs: string): Promise<void> {
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
