// Seeding CodeCommit with CreateCommit. The emulator has no CreateCommit or
// GetBranch, so the client is mocked (aws-sdk-client-mock), answering with the
// shapes CodeCommit returns: GetBranch's branch, GetFolder's files and
// subFolders with blob ids, CreateCommit's commitId and treeId, and the
// exceptions by their service names.
import {
  CodeCommitClient,
  CreateCommitCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetBranchCommand,
  GetFolderCommand,
  GetRepositoryCommand,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-codecommit";
import { ConfigError } from "../setup/lib/errors.ts";
import { deleteRepository } from "../setup/lib/aws/cleanup.ts";
import { codeCommitOwnership } from "../setup/lib/aws/ownership.ts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { serviceError } from "./support/service-error.ts";
import {
  COMMIT_LIMITS,
  ensureRepository,
  gitBlobId,
  seedRepository,
  type SourceFile,
} from "../setup/lib/aws/source.ts";

const cc = mockClient(CodeCommitClient);
const client = new CodeCommitClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
const enc = (s: string) => new TextEncoder().encode(s);

const files: SourceFile[] = [
  { path: "Dockerfile", content: enc("FROM node\n") },
  { path: "scripts/image-tag.sh", content: enc("#!/bin/sh\n") },
  { path: "src/app.ts", content: enc("export {}\n") },
];

beforeEach(() => cc.reset());

describe("gitBlobId", () => {
  it("is git's blob hash (git hash-object)", () => {
    // printf 'hello\n' | git hash-object --stdin
    expect(gitBlobId(enc("hello\n"))).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
  });
});

describe("seedRepository", () => {
  it("makes the first commit on an empty repository without a parent", async () => {
    cc.on(GetBranchCommand).rejects(serviceError("BranchDoesNotExistException", "Could not find branch main"));
    cc.on(CreateCommitCommand).resolves({ commitId: "a1".repeat(20), treeId: "t1".repeat(20), filesAdded: [] });

    const result = await seedRepository(client, "demo-app", "main", files, "Seed");

    expect(result).toEqual({ commitId: "a1".repeat(20), commits: 1 });
    const call = cc.commandCalls(CreateCommitCommand)[0]?.args[0].input;
    expect(call?.parentCommitId).toBeUndefined();
    expect(call?.putFiles?.map((f) => [f.filePath, f.fileMode])).toEqual([
      ["Dockerfile", "NORMAL"],
      ["scripts/image-tag.sh", "EXECUTABLE"],
      ["src/app.ts", "NORMAL"],
    ]);
  });

  it("commits nothing when the branch already has this exact tree", async () => {
    const head = "b2".repeat(20);
    cc.on(GetBranchCommand).resolves({ branch: { branchName: "main", commitId: head } });
    cc.on(GetFolderCommand, { folderPath: "/" }).resolves({
      commitId: head,
      folderPath: "/",
      files: [
        {
          absolutePath: "Dockerfile",
          blobId: gitBlobId(files[0]?.content as Uint8Array),
          relativePath: "Dockerfile",
          fileMode: "NORMAL",
        },
      ],
      subFolders: [
        { absolutePath: "scripts", relativePath: "scripts", treeId: "x" },
        { absolutePath: "src", relativePath: "src", treeId: "y" },
      ],
    });
    cc.on(GetFolderCommand, { folderPath: "scripts" }).resolves({
      files: [
        {
          absolutePath: "scripts/image-tag.sh",
          blobId: gitBlobId(files[1]?.content as Uint8Array),
          fileMode: "EXECUTABLE",
        },
      ],
    });
    cc.on(GetFolderCommand, { folderPath: "src" }).resolves({
      files: [{ absolutePath: "src/app.ts", blobId: gitBlobId(files[2]?.content as Uint8Array), fileMode: "NORMAL" }],
    });

    expect(await seedRepository(client, "demo-app", "main", files, "Seed")).toEqual({ commitId: head, commits: 0 });
    expect(cc.commandCalls(CreateCommitCommand)).toHaveLength(0);
  });

  it("commits only what changed, on top of the branch head, and deletes what is gone", async () => {
    const head = "c3".repeat(20);
    cc.on(GetBranchCommand).resolves({ branch: { branchName: "main", commitId: head } });
    cc.on(GetFolderCommand, { folderPath: "/" }).resolves({
      files: [
        { absolutePath: "Dockerfile", blobId: gitBlobId(files[0]?.content as Uint8Array) },
        { absolutePath: "OLD.md", blobId: "0".repeat(40) },
      ],
      subFolders: [],
    });
    cc.on(CreateCommitCommand).resolves({ commitId: "d4".repeat(20) });

    const result = await seedRepository(client, "demo-app", "main", files, "Seed");

    expect(result).toEqual({ commitId: "d4".repeat(20), commits: 1 });
    const input = cc.commandCalls(CreateCommitCommand)[0]?.args[0].input;
    expect(input?.parentCommitId).toBe(head);
    expect(input?.putFiles?.map((f) => f.filePath)).toEqual(["scripts/image-tag.sh", "src/app.ts"]);
    expect(input?.deleteFiles).toEqual([{ filePath: "OLD.md" }]);
  });

  it("splits more than 100 files into several commits, each the parent of the next", async () => {
    const many: SourceFile[] = Array.from({ length: COMMIT_LIMITS.files * 2 + 5 }, (_, i) => ({
      path: `f/${String(i).padStart(3, "0")}.txt`,
      content: enc(`file ${i}\n`),
    }));
    cc.on(GetBranchCommand).rejects(serviceError("BranchDoesNotExistException", "Could not find branch main"));
    let n = 0;
    cc.on(CreateCommitCommand).callsFake(() => ({ commitId: `commit-${++n}` }));

    const result = await seedRepository(client, "demo-app", "main", many, "Seed");

    const calls = cc.commandCalls(CreateCommitCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.putFiles?.length)).toEqual([100, 100, 5]);
    expect(calls.map((c) => c.parentCommitId)).toEqual([undefined, "commit-1", "commit-2"]);
    expect(calls.map((c) => c.commitMessage)).toEqual([
      "Seed (part 1 of 3)",
      "Seed (part 2 of 3)",
      "Seed (part 3 of 3)",
    ]);
    expect(result).toEqual({ commitId: "commit-3", commits: 3 });
  });

  it("splits by size too, keeping each commit under the API's payload limit", async () => {
    const big = new Uint8Array(2 * 1024 * 1024);
    const heavy: SourceFile[] = [0, 1, 2, 3].map((i) => ({ path: `big${i}.bin`, content: big }));
    cc.on(GetBranchCommand).rejects(serviceError("BranchDoesNotExistException", "Could not find branch main"));
    cc.on(CreateCommitCommand).resolves({ commitId: "e5".repeat(20) });

    await seedRepository(client, "demo-app", "main", heavy, "Seed");

    const sizes = cc
      .commandCalls(CreateCommitCommand)
      .map((c) => (c.args[0].input.putFiles ?? []).reduce((s, f) => s + (f.fileContent?.byteLength ?? 0), 0));
    expect(sizes.every((s) => s <= COMMIT_LIMITS.bytes)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(4 * big.byteLength);
  });
});

/** What the SDK passes on when a service's host name does not resolve: Node's getaddrinfo error. */
const noEndpoint = () =>
  Object.assign(new Error("getaddrinfo ENOTFOUND codecommit.ap-east-2.amazonaws.com"), {
    errno: -3008,
    code: "ENOTFOUND",
    syscall: "getaddrinfo",
    hostname: "codecommit.ap-east-2.amazonaws.com",
    $metadata: { attempts: 1, totalRetryDelay: 0 },
  });

describe("ensureRepository", () => {
  it("creates the repository, tagged with the prefix", async () => {
    cc.on(CreateRepositoryCommand).resolves({ repositoryMetadata: { repositoryName: "demo-app" } });
    expect(await ensureRepository(client, "demo-app", "demo")).toEqual({ available: true });
    expect(cc.commandCalls(CreateRepositoryCommand)[0]?.args[0].input.tags).toEqual({ "aws-cicd-lab:prefix": "demo" });
  });

  const existing = (tags: Record<string, string>) => {
    cc.on(CreateRepositoryCommand).rejects(
      serviceError("RepositoryNameExistsException", "Repository named demo-app already exists"),
    );
    cc.on(GetRepositoryCommand).resolves({
      repositoryMetadata: { repositoryName: "demo-app", Arn: "arn:aws:codecommit:eu-west-1:123456789012:demo-app" },
    });
    cc.on(ListTagsForResourceCommand).resolves({ tags });
  };

  it("accepts a repository that already exists with this prefix's tag (a re-run)", async () => {
    existing({ "aws-cicd-lab:prefix": "demo" });
    expect(await ensureRepository(client, "demo-app", "demo")).toEqual({ available: true });
  });

  it("refuses (exit 2) a repository of that name that is not this run's, and commits nothing", async () => {
    existing({ team: "payments" });
    const error = await ensureRepository(client, "demo-app", "demo").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /^CodeCommit repository demo-app exists without the tag aws-cicd-lab:prefix=demo/,
    );
    expect(cc.commandCalls(CreateCommitCommand)).toHaveLength(0);
  });

  it("reports an account that may not use CodeCommit, so the run can fall back to S3", async () => {
    const message =
      "CreateRepository request is not allowed because there is no existing repository in this AWS account or AWS Organization";
    cc.on(CreateRepositoryCommand).rejects(serviceError("OperationNotAllowedException", message));
    expect(await ensureRepository(client, "demo-app", "demo")).toEqual({ available: false, reason: message });
  });

  it("reports a region without CodeCommit (its endpoint does not resolve), so the run falls back to S3", async () => {
    cc.on(CreateRepositoryCommand).rejects(noEndpoint());
    expect(await ensureRepository(client, "demo-app", "demo")).toEqual({
      available: false,
      reason: "CodeCommit is not offered in this region (codecommit.ap-east-2.amazonaws.com does not resolve)",
    });
  });

  it("in a region without CodeCommit, teardown finds no repository and deletes none", async () => {
    cc.on(GetRepositoryCommand).rejects(noEndpoint());
    cc.on(DeleteRepositoryCommand).rejects(noEndpoint());
    expect(await codeCommitOwnership(client, "demo-app", "demo")).toBe("absent");
    expect(await deleteRepository(client, "demo-app")).toBe(false);
  });

  it("passes on any other error", async () => {
    cc.on(CreateRepositoryCommand).rejects(serviceError("AccessDeniedException", "not authorized"));
    await expect(ensureRepository(client, "demo-app", "demo")).rejects.toThrow("not authorized");
  });
});
