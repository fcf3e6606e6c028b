// The app's source as the pipeline sees it: the files of code/ (minus what
// .gitignore excludes) plus infra/service.yaml, committed to CodeCommit with
// CreateCommit or uploaded to the bucket as source.zip. Both are idempotent:
// the same tree is never committed or uploaded twice.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import {
  type CodeCommitClient,
  CreateCommitCommand,
  CreateRepositoryCommand,
  type DeleteFileEntry,
  GetBranchCommand,
  GetFolderCommand,
  type PutFileEntry,
} from "@aws-sdk/client-codecommit";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { zipSync } from "fflate";
import ignore from "ignore";
import { isEndpointMissing } from "../errors.ts";
import { PREFIX_TAG } from "./naming.ts";
import { codeCommitOwnership, refuseForeign } from "./ownership.ts";

export interface SourceFile {
  /** Path inside the repository, with forward slashes. */
  readonly path: string;
  readonly content: Uint8Array;
}

/** Never part of the source, whatever .gitignore says. */
const ALWAYS_IGNORED = ["node_modules/", ".git/", "reports/"];

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [])),
  );
  return files.flat();
}

/** The files the pipeline builds: code/ as the repository root, plus infra/service.yaml. */
export async function collectSource(codeDir: string, serviceTemplate: string): Promise<SourceFile[]> {
  const rules = ignore().add(ALWAYS_IGNORED);
  const gitignore = await readFile(join(codeDir, ".gitignore"), "utf8").catch(() => "");
  rules.add(gitignore);
  const files: SourceFile[] = [];
  for (const file of await walk(codeDir)) {
    const path = relative(codeDir, file).split(sep).join("/");
    if (rules.ignores(path)) continue;
    files.push({ path, content: await readFile(file) });
  }
  files.push({ path: "infra/service.yaml", content: await readFile(serviceTemplate) });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A digest of paths and contents: equal trees, equal hashes. */
function treeHash(files: readonly SourceFile[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    h.update(f.path).update("\0").update(createHash("sha256").update(f.content).digest()).update("\0");
  }
  return h.digest("hex");
}

/** The image tag an S3-sourced build gets (the zip has no git metadata): s3-<10 hex>. */
function sourceVersion(files: readonly SourceFile[]): string {
  return `s3-${treeHash(files).slice(0, 10)}`;
}

/** source.zip: the files plus VERSION, with fixed timestamps so the same tree gives the same bytes. */
function zipSource(files: readonly SourceFile[], version: string): Uint8Array {
  const mtime = new Date("2020-01-01T00:00:00Z");
  const entries: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const f of files) entries[f.path] = [f.content, { mtime }];
  entries.VERSION = [new TextEncoder().encode(`${version}\n`), { mtime }];
  return zipSync(entries, { level: 6 });
}

export interface UploadedSource {
  readonly key: string;
  /** The object version the pipeline will build ("null" where the bucket is not versioned, as in the emulator). */
  readonly versionId: string;
  /** Becomes the image tag. */
  readonly version: string;
  readonly uploaded: boolean;
}

const TREE_HASH_METADATA = "tree-hash";

export async function uploadSourceZip(
  s3: S3Client,
  bucket: string,
  key: string,
  files: readonly SourceFile[],
): Promise<UploadedSource> {
  const hash = treeHash(files);
  const version = sourceVersion(files);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  if (head?.Metadata?.[TREE_HASH_METADATA] === hash) {
    return { key, versionId: head.VersionId ?? "null", version, uploaded: false };
  }
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: zipSource(files, version),
      ContentType: "application/zip",
      ServerSideEncryption: "AES256",
      Metadata: { [TREE_HASH_METADATA]: hash },
    }),
  );
  return { key, versionId: put.VersionId ?? "null", version, uploaded: true };
}

// ---------------------------------------------------------------- CodeCommit

export type CodeCommitAccess = { readonly available: true } | { readonly available: false; readonly reason: string };

/**
 * Creates the repository (or finds it) and so finds out whether the account
 * may use CodeCommit at all: since 2024 accounts that never had a repository
 * are refused with OperationNotAllowedException.
 */
export async function ensureRepository(cc: CodeCommitClient, name: string, prefix: string): Promise<CodeCommitAccess> {
  try {
    await cc.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        repositoryDescription: "aws-cicd-lab: the app the pipeline builds",
        tags: { [PREFIX_TAG]: prefix },
      }),
    );
    return { available: true };
  } catch (error) {
    const name_ = (error as Error).name;
    if (name_ === "RepositoryNameExistsException") {
      // Someone else's repository of that name is never committed to (the seed replaces every file).
      refuseForeign(
        [{ what: `CodeCommit repository ${name}`, ownership: await codeCommitOwnership(cc, name, prefix) }],
        prefix,
      );
      return { available: true };
    }
    if (name_ === "OperationNotAllowedException" || /not allowed/i.test((error as Error).message)) {
      return { available: false, reason: (error as Error).message };
    }
    if (isEndpointMissing(error)) {
      const host = /ENOTFOUND (\S+)/.exec((error as Error).message)?.[1] ?? "its endpoint";
      return { available: false, reason: `CodeCommit is not offered in this region (${host} does not resolve)` };
    }
    throw error;
  }
}

/** Git's blob id of some content: what CodeCommit reports as blobId. */
export function gitBlobId(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

/** Every file of a commit, path → blob id. */
async function filesAt(cc: CodeCommitClient, repositoryName: string, commit: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const visit = async (folderPath: string): Promise<void> => {
    const folder = await cc.send(new GetFolderCommand({ repositoryName, commitSpecifier: commit, folderPath }));
    for (const f of folder.files ?? []) if (f.absolutePath && f.blobId) found.set(f.absolutePath, f.blobId);
    for (const sub of folder.subFolders ?? []) if (sub.absolutePath) await visit(sub.absolutePath);
  };
  await visit("/");
  return found;
}

async function branchHead(
  cc: CodeCommitClient,
  repositoryName: string,
  branchName: string,
): Promise<string | undefined> {
  try {
    const { branch } = await cc.send(new GetBranchCommand({ repositoryName, branchName }));
    return branch?.commitId;
  } catch (error) {
    if ((error as Error).name === "BranchDoesNotExistException") return undefined;
    throw error;
  }
}

/**
 * CreateCommit takes at most 100 files and about 6 MB per call: larger
 * changes go in several commits, each on top of the last.
 */
export const COMMIT_LIMITS = Object.freeze({ files: 100, bytes: 5 * 1024 * 1024 });

export interface SeededCommit {
  /** The commit the pipeline will build: the branch head after seeding. */
  readonly commitId: string;
  /** Commits made now; 0 when the branch already had this exact tree. */
  readonly commits: number;
}

export async function seedRepository(
  cc: CodeCommitClient,
  repositoryName: string,
  branchName: string,
  files: readonly SourceFile[],
  message: string,
): Promise<SeededCommit> {
  let parent = await branchHead(cc, repositoryName, branchName);
  const existing = parent ? await filesAt(cc, repositoryName, parent) : new Map<string, string>();
  const wanted = new Set(files.map((f) => f.path));
  const puts: PutFileEntry[] = files
    .filter((f) => existing.get(f.path) !== gitBlobId(f.content))
    .map((f) => ({
      filePath: f.path,
      fileContent: f.content,
      fileMode: f.path.endsWith(".sh") ? "EXECUTABLE" : "NORMAL",
    }));
  const deletes: DeleteFileEntry[] = [...existing.keys()]
    .filter((p) => !wanted.has(p))
    .map((filePath) => ({ filePath }));
  if (parent && puts.length === 0 && deletes.length === 0) return { commitId: parent, commits: 0 };

  // Batches: deletions ride with the first batch; each batch stays within the limits.
  const batches: PutFileEntry[][] = [[]];
  let bytes = 0;
  for (const put of puts) {
    const size = put.fileContent?.byteLength ?? 0;
    const batch = batches.at(-1) as PutFileEntry[];
    if (batch.length > 0 && (batch.length + 1 > COMMIT_LIMITS.files || bytes + size > COMMIT_LIMITS.bytes)) {
      batches.push([put]);
      bytes = size;
    } else {
      batch.push(put);
      bytes += size;
    }
  }
  let commits = 0;
  for (const [i, batch] of batches.entries()) {
    const part = batches.length > 1 ? ` (part ${i + 1} of ${batches.length})` : "";
    const made = await cc.send(
      new CreateCommitCommand({
        repositoryName,
        branchName,
        ...(parent ? { parentCommitId: parent } : {}),
        putFiles: batch,
        ...(i === 0 && deletes.length > 0 ? { deleteFiles: deletes } : {}),
        commitMessage: `${message}${part}`,
        authorName: "aws-cicd-lab",
        email: "aws-cicd-lab@example.com",
      }),
    );
    parent = made.commitId;
    commits += 1;
  }
  return { commitId: parent as string, commits };
}

export interface CurrentSource {
  readonly provider: "CodeCommit" | "S3";
  /** What the pipeline builds: the branch head commit, or the object version. */
  readonly revision: string;
  /** The image tag it gets. */
  readonly version: string;
  /** The repository name or the object key. */
  readonly location: string;
}

/** What is seeded now, without changing anything: the CodeCommit branch head, else source.zip. */
export async function currentSource(
  clients: { readonly cc: CodeCommitClient; readonly s3: S3Client },
  options: {
    readonly useCodeCommit: boolean;
    readonly repositoryName: string;
    readonly branchName: string;
    readonly bucket: string;
    readonly key: string;
  },
): Promise<CurrentSource | undefined> {
  if (options.useCodeCommit) {
    const head = await branchHead(clients.cc, options.repositoryName, options.branchName).catch(() => undefined);
    if (head)
      return { provider: "CodeCommit", revision: head, version: head.slice(0, 10), location: options.repositoryName };
  }
  const object = await clients.s3
    .send(new HeadObjectCommand({ Bucket: options.bucket, Key: options.key }))
    .catch(() => undefined);
  const hash = object?.Metadata?.[TREE_HASH_METADATA];
  if (!object || !hash) return undefined;
  return {
    provider: "S3",
    revision: object.VersionId ?? "null",
    version: `s3-${hash.slice(0, 10)}`,
    location: options.key,
  };
}
