// The CloudFormation deploy action (CREATE_UPDATE, REPLACE_ON_FAILURE): the
// template and its configuration read from the input artifacts as
// CodePipeline reads them ("Artifact::path"), the parameters checked as
// CloudFormation checks them, and the stack deployed through the emulator,
// with the resource providers that finish what its CloudFormation skips (see
// cloudformation/providers.ts). A failure names the stack's first failed resource.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { zipSync } from "fflate";
import { type DeployOptions, firstFailedResource } from "../../../aws/stacks.ts";
import { parseTemplate } from "../../../aws/templates.ts";
import { LabError } from "../../../errors.ts";
import { parameterRefusal } from "../../cloudformation/parameters.ts";
import { deployWithProviders, type ResourceProvider } from "../../cloudformation/providers.ts";
import { failed, unzipArtifact } from "../artifacts.ts";
import type { ActionProvider, ArtifactRef } from "../run.ts";

export interface CloudFormationActionDeps {
  readonly cfn: CloudFormationClient;
  readonly deployOptions: DeployOptions;
  /** What AWS's resource handlers do that the emulator does not, by type (see cloudformation/providers.ts). */
  readonly providers: readonly ResourceProvider[];
}

type Configuration = Readonly<Record<string, string>>;

/** The action's parameters: TemplateConfiguration's, then ParameterOverrides; or why they cannot be read. */
function parametersOf(
  c: Configuration,
  configText: string | undefined,
): { parameters: Record<string, string>; tags: Record<string, string> } | Error {
  let parameters: Record<string, string> = {};
  let tags: Record<string, string> = {};
  if (configText !== undefined) {
    try {
      const config = JSON.parse(configText) as { Parameters?: Record<string, string>; Tags?: Record<string, string> };
      parameters = { ...config.Parameters };
      tags = { ...config.Tags };
    } catch (error) {
      return new Error(
        `TemplateConfiguration ${c.TemplateConfiguration} is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  if (c.ParameterOverrides) {
    try {
      parameters = { ...parameters, ...(JSON.parse(c.ParameterOverrides) as Record<string, string>) };
    } catch (error) {
      return new Error(`ParameterOverrides is not valid JSON: ${(error as Error).message}`);
    }
  }
  return { parameters, tags };
}

export function cloudFormationAction(deps: CloudFormationActionDeps): ActionProvider {
  return async (run) => {
    const c = run.configuration;
    const mode = c.ActionMode ?? "";
    if (mode !== "CREATE_UPDATE" && mode !== "REPLACE_ON_FAILURE")
      return failed(
        `ActionMode ${mode} is not something the rehearsal's deploy stand-in does (CREATE_UPDATE, REPLACE_ON_FAILURE)`,
      );
    const stackName = c.StackName ?? "";
    const files = new Map<string, Map<string, Uint8Array>>();
    /** "Artifact::path" → the file's text, or why not. */
    const readPath = async (setting: string, value: string): Promise<string | Error> => {
      const [artifactName, path] = value.split("::");
      const ref = run.inputs.find((i: ArtifactRef) => i.name === artifactName);
      if (!ref || !path)
        return new Error(`${setting} ${value}: ${artifactName} is not an input artifact of this action`);
      if (!files.has(ref.name)) files.set(ref.name, unzipArtifact(await run.readArtifact(ref), ref.name));
      const content = files.get(ref.name)?.get(path);
      if (!content) return new Error(`${setting} ${value}: the artifact ${ref.name} holds no file ${path}`);
      return new TextDecoder().decode(content);
    };
    const templateText = await readPath("TemplatePath", c.TemplatePath ?? "");
    if (templateText instanceof Error) return failed(templateText.message);
    const configText = c.TemplateConfiguration
      ? await readPath("TemplateConfiguration", c.TemplateConfiguration)
      : undefined;
    if (configText instanceof Error) return failed(configText.message);
    const given = parametersOf(c, configText);
    if (given instanceof Error) return failed(given.message);
    const refusal = parameterRefusal(parseTemplate(templateText), given.parameters);
    if (refusal) return failed(refusal);

    const dir = await mkdtemp(join(tmpdir(), "aws-cicd-lab-deploy-"));
    const started = new Date();
    try {
      const templateFile = join(dir, "template.yaml");
      await writeFile(templateFile, templateText);
      const spec = {
        name: stackName,
        templateFile,
        parameters: given.parameters,
        tags: given.tags,
        capabilities: (c.Capabilities ?? "").split(",").filter(Boolean) as never,
      };
      const result = await deployWithProviders(
        deps.cfn,
        spec,
        deps.deployOptions,
        deps.providers,
        (line) => run.say(line),
        run.signal,
      );
      if (!result.ok) {
        const { failure } = result;
        return failed(result.summary, {
          stack: {
            name: stackName,
            firstFailure: `${failure.logicalId} (${failure.description}): ${failure.message}${failure.detail ? ` ${failure.detail}` : ""}`,
          },
          ...(failure.log && failure.log.lines.length > 0 ? { log: failure.log } : {}),
        });
      }
      if (c.OutputFileName) {
        const zip = zipSync({ [c.OutputFileName]: new TextEncoder().encode(JSON.stringify(result.deployed.outputs)) });
        for (const output of run.outputs) await run.writeArtifact(output, zip);
      }
      return {
        status: "Succeeded",
        summary: `${stackName} ${result.deployed.action}`,
        outputVariables: result.deployed.outputs,
      };
    } catch (error) {
      if (!(error instanceof LabError)) throw error;
      const first = await firstFailedResource(deps.cfn, stackName, started).catch(() => undefined);
      return failed(error.message.split("\n")[0] ?? error.message, {
        stack: { name: stackName, ...(first ? { firstFailure: first } : {}) },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
