// The S3 source action: the object's current version becomes the output
// artifact, and its version id the revision later actions see.
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { failed } from "../artifacts.ts";
import type { ActionProvider } from "../run.ts";

/** The source revision each output artifact carries (what CodeBuild reports as the resolved source version). */
export type Revisions = Map<string, string>;

export function s3SourceAction(s3: S3Client, revisions: Revisions): ActionProvider {
  return async (run) => {
    const { S3Bucket: bucket, S3ObjectKey: key } = run.configuration;
    if (!bucket || !key) return failed("the S3 source action needs S3Bucket and S3ObjectKey");
    const object = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      .catch((error: unknown) => error as Error);
    if (object instanceof Error) return failed(`s3://${bucket}/${key}: ${object.name}`);
    const content = await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const versionId = object.VersionId ?? "null";
    for (const output of run.outputs) {
      await run.writeArtifact(output, content);
      revisions.set(output.name, versionId);
    }
    return {
      status: "Succeeded",
      summary: `s3://${bucket}/${key} version ${versionId}`,
      outputVariables: { ObjectKey: key, ETag: (object.ETag ?? "").replaceAll('"', ""), VersionId: versionId },
    };
  };
}
