// `bin/doctor`: is this machine ready to run the containers the project needs?
// Runs before `npm test` so a missing engine or image is one clear sentence.
import { IMAGE_VARIABLES, type Images, readImages } from "./lib/config.ts";
import { EXIT, LabError } from "./lib/errors.ts";
import { connectDocker, requireImage } from "./lib/local/engine/client.ts";

export async function doctor(env: NodeJS.ProcessEnv): Promise<number> {
  const say = (line: string) => process.stderr.write(`[doctor] ${line}\n`);
  try {
    const images = readImages(env);
    const docker = await connectDocker();
    const roles = Object.keys(IMAGE_VARIABLES) as Array<keyof Images>;
    for (const role of roles) await requireImage(docker, images[role], IMAGE_VARIABLES[role]);
    say(
      `Docker ${docker.info.containerRuntime.serverVersion} answers; ${roles.map((r) => images[r]).join(", ")} are here.`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    say(`${error.message} ${error.hint}`);
    return error.exitCode;
  }
}
