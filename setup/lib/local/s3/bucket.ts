// The bucket the emulator's CloudFormation keeps after deleting its stack.
import { DeleteBucketCommand, type S3Client } from "@aws-sdk/client-s3";

/**
 * The emulator's CloudFormation reports the bucket stack deleted but keeps the
 * (empty) bucket. Returns whether there was one to delete.
 */
export async function deleteBucketLeftBehind(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if ((error as Error).name === "NoSuchBucket") return false;
    throw error;
  }
}
