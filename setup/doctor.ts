// `bin/doctor`: is this machine ready to run the containers the project needs?
// Runs before `npm test` so a missing engine or image is one clear sentence.
import { readImages } from "./lib/config.ts";
import { EXIT, LabError } from "./lib/errors.ts";
import { connectDocker, requireImage } from "./lib/local/docker.ts";

export async function doctor(env: NodeJS.ProcessEnv): Promise<number> {
  const say = (line: string) => process.stderr.write(`[doctor] ${line}\n`);
  try {
    const images = readImages(env);
    const docker = await connectDocker();
    await requireImage(docker, images.moto, "LAB_MOTO_IMAGE");
    await requireImage(docker, images.node, "LAB_NODE_IMAGE");
    say(`Docker ${docker.info.containerRuntime.serverVersion} answers; ${images.moto} and ${images.node} are here.`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    say(`${error.message} ${error.hint}`);
    return error.exitCode;
  }
}
