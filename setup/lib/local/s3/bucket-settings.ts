// What the emulator's CloudFormation skips for AWS::S3::Bucket: it applies a
// bucket's encryption and tags, nothing else. After each CreateStack or
// UpdateStack it is sent, the bucket's versioning, public access block and
// ownership controls are applied as CloudFormation would, so the rehearsal's
// artifact bucket is versioned and private as lesson 01 says. (Its lifecycle
// rules and EventBridge notifications are not: nothing in the rehearsal
// depends on them, and the emulator acts on neither.)
import { DescribeStackResourcesCommand, type CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  type OwnershipControls,
  type PublicAccessBlockConfiguration,
  PutBucketOwnershipControlsCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { InitializeHandler, InitializeHandlerArguments, MiddlewareStack } from "@smithy/types";
import { parseTemplate } from "../../aws/templates.ts";

const APPLIED_AFTER = new Set(["CreateStackCommand", "UpdateStackCommand"]);

interface BucketProperties {
  readonly VersioningConfiguration?: { readonly Status?: unknown };
  readonly PublicAccessBlockConfiguration?: PublicAccessBlockConfiguration;
  readonly OwnershipControls?: OwnershipControls;
}

/** Applies one bucket's settings from its template properties (literal values only; an intrinsic is skipped). */
async function applySettings(s3: S3Client, bucket: string, properties: BucketProperties): Promise<void> {
  const status = properties.VersioningConfiguration?.Status;
  if (status === "Enabled" || status === "Suspended") {
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: status },
      }),
    );
  }
  if (properties.PublicAccessBlockConfiguration) {
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: properties.PublicAccessBlockConfiguration,
      }),
    );
  }
  if (properties.OwnershipControls) {
    await s3.send(
      new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: properties.OwnershipControls }),
    );
  }
}

/** Makes an emulator CloudFormation client finish each S3 bucket of a stack it creates or updates. */
export function applyBucketSettings(client: CloudFormationClient, s3: () => S3Client): void {
  const stack = client.middlewareStack as unknown as MiddlewareStack<object, object>;
  stack.add(
    (next: InitializeHandler<object, object>, context) => async (args: InitializeHandlerArguments<object>) => {
      const result = await next(args);
      const input = args.input as { StackName?: string; TemplateBody?: string };
      if (!APPLIED_AFTER.has(context.commandName ?? "") || !input.TemplateBody || !input.StackName) return result;
      const buckets = Object.entries(parseTemplate(input.TemplateBody).Resources).filter(
        ([, r]) => r.Type === "AWS::S3::Bucket",
      );
      if (buckets.length === 0) return result;
      const { StackResources } = await client.send(new DescribeStackResourcesCommand({ StackName: input.StackName }));
      for (const [logicalId, resource] of buckets) {
        const bucket = StackResources?.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
        if (bucket) await applySettings(s3(), bucket, resource.Properties ?? {});
      }
      return result;
    },
    { step: "initialize", name: "applyBucketSettings" },
  );
}
