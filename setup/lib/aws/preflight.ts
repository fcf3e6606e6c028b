// Before anything is created on AWS: who is this, where, and can they act?
// Turns the SDK's credential and network errors into one clear sentence.
import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { ConfigError } from "../errors.ts";

/** Region names look like eu-west-1, us-gov-west-1, ap-southeast-3. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function checkRegion(region: string): void {
  if (!REGION_PATTERN.test(region)) {
    throw new ConfigError(
      `"${region}" is not an AWS region name.`,
      "Use a region such as eu-west-1 or us-east-1 (--region or REGION).",
    );
  }
}

export interface Identity {
  readonly accountId: string;
  readonly arn: string;
}

export async function whoAmI(sts: STSClient, region: string, profile?: string): Promise<Identity> {
  checkRegion(region);
  try {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    return { accountId: id.Account ?? "", arn: id.Arn ?? "" };
  } catch (error) {
    const e = error as Error & { code?: string };
    const cause = (e as { cause?: { message?: string } }).cause;
    const text = `${e.name} ${e.message} ${e.code ?? ""} ${cause?.message ?? ""}`;
    const login = profile ? `aws sso login --profile ${profile}` : "aws sso login";
    // The SDK says "To refresh this SSO session run 'aws sso login'" when the cached token has expired.
    if (/sso/i.test(text) && /expired|refresh|sso login/i.test(text)) {
      throw new ConfigError(
        "Your AWS SSO session has expired.",
        `Sign in again with \`${login}\`, then run the same command.`,
        error,
      );
    }
    if (/ExpiredToken|RequestExpired|security token included in the request is expired/i.test(text)) {
      throw new ConfigError(
        "Your AWS credentials have expired.",
        "Get fresh credentials (sign in again or renew the session), then run the same command.",
        error,
      );
    }
    if (e.name === "CredentialsProviderError" || /Could not load credentials|credential/i.test(text)) {
      throw new ConfigError(
        "No AWS credentials were found.",
        "Configure them (`aws configure`, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); in Docker, mount ~/.aws and pass AWS_PROFILE.",
        error,
      );
    }
    if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(text)) {
      throw new ConfigError(
        `Region ${region} could not be reached: its endpoint does not resolve.`,
        "Check the region name and your network, then run again.",
        error,
      );
    }
    if (/InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/i.test(text)) {
      throw new ConfigError(
        "AWS rejected the credentials.",
        "Check the access key (or profile) you are using, then run again.",
        error,
      );
    }
    throw error;
  }
}
