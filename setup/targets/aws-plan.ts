// The checks made before a run on AWS creates anything, narrated: `bin/run
// --plan` makes them and stops; a real run makes them before its
// confirmation. The account (quotas, VPCs, the service-linked role), the zones
// to use, every template as CloudFormation validates it, and the learner's
// own permissions as IAM simulates them. Whatever would stop the run is
// listed, each with why the run needs it, and refused with exit 2.
import { checkAccount, type Preflight } from "../lib/aws/account-preflight.ts";
import { learnerPermissions } from "../lib/aws/learner-permissions.ts";
import { checkTemplates, deniedLines, principalOf, simulateNeeds } from "../lib/aws/plan.ts";
import { chooseZones } from "../lib/aws/zones.ts";
import { ConfigError } from "../lib/errors.ts";
import { withSpinner } from "../lib/ui/narrator.ts";
import type { Session, TargetContext } from "./target.ts";

export async function checkBeforeRun(ctx: TargetContext, session: Session): Promise<Preflight> {
  const { ui, aws, config } = ctx;
  const region = config.aws.region;
  const problems: string[] = [];

  const preflight = await withSpinner(
    ui,
    "checking the account: service-linked role, CodeBuild quota, VPCs, public IPv4",
    () => checkAccount(aws, region),
    { done: () => "account checked", failed: "the account cannot hold this run yet" },
  );
  for (const line of preflight.lines) ui.info(`  ${line}`);
  for (const warning of preflight.warnings) ui.warn(warning);
  const zones = await chooseZones(aws.ec2, region);
  ui.info(`  availability zones: ${zones.join(" and ")} (available, no opt-in)`);

  const templates = await withSpinner(ui, "validating the templates with CloudFormation", () =>
    checkTemplates(aws.cfn),
  );
  for (const t of templates) {
    if (t.problem) problems.push(t.problem);
    else ui.info(`  infra/${t.role}.yaml: valid${t.needs.length > 0 ? `, ${t.needs.join(", ")} acknowledged` : ""}`);
  }

  const principal = session.callerArn
    ? await principalOf(aws.iam, session.callerArn)
    : ({ simulate: false, reason: "who the credentials are is not known" } as const);
  if (!principal.simulate) {
    ui.warn(`Your permissions were not checked: ${principal.reason}. The run goes on without that check.`);
  } else {
    const needs = learnerPermissions(config.prefix, session.accountId, region);
    const count = needs.reduce((n, need) => n + need.actions.length, 0);
    const simulated = await withSpinner(
      ui,
      `simulating the ${count} actions this run performs with your credentials, as ${principal.arn}`,
      () => simulateNeeds(aws.iam, principal.arn, region, needs),
    );
    if (!simulated.simulated)
      ui.warn(`Your permissions were not checked: ${simulated.reason}. The run goes on without that check.`);
    else if (simulated.denied.length === 0)
      ui.info(`  permissions: all ${simulated.checked} allowed (identity policies, boundary and SCPs, in ${region})`);
    else problems.push(...deniedLines(simulated.denied).map((line) => `denied to ${principal.arn}: ${line}`));
  }

  if (problems.length > 0) {
    for (const problem of problems) ui.error(problem);
    throw new ConfigError(
      `${problems.length} thing(s) above would stop this run on AWS; nothing was created.`,
      "Ask the account's administrator for the permissions listed (each says what the run needs it for), or use an account where you may create IAM roles, then check again with --plan.",
    );
  }
  return preflight;
}
