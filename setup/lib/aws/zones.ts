// The two availability zones the environment's subnets (and so its load
// balancer and tasks) go into, chosen from what the region reports rather
// than by position in Fn::GetAZs: only zones that are available now, are
// regular availability zones (no Local or Wavelength Zones) and need no
// opt-in. An environment stack that exists keeps the zones it was made with,
// so a re-run never moves its subnets.
import { DescribeAvailabilityZonesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { ConfigError } from "../errors.ts";

export type ZonePair = readonly [string, string];

export async function chooseZones(ec2: EC2Client, region: string): Promise<ZonePair> {
  const { AvailabilityZones } = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: "state", Values: ["available"] },
        { Name: "zone-type", Values: ["availability-zone"] },
      ],
    }),
  );
  const usable = (AvailabilityZones ?? [])
    // Checked here, not as a filter: not every endpoint (the emulator) filters on it.
    .filter((z) => z.OptInStatus === undefined || z.OptInStatus === "opt-in-not-required")
    .map((z) => z.ZoneName ?? "")
    .filter(Boolean)
    .sort();
  const [a, b] = usable;
  if (a === undefined || b === undefined)
    throw new ConfigError(
      `Region ${region} reports ${usable.length} available availability zone(s) that need no opt-in; the load balancer needs two.`,
      "Choose another region (--region or REGION), e.g. eu-west-1 or us-east-1.",
    );
  return [a, b];
}
