// The build stand-in's image, in place of CodeBuild's standard image.
import { runInImage } from "../images/process.ts";
import type { ImageRecipe } from "../images/recipe.ts";
import { standInRecipe } from "../images/stand-in.ts";
import { SOURCE_DIR } from "./paths.ts";

/**
 * awscli 2.9 (Debian bookworm) predates AWS_ENDPOINT_URL, which names the
 * emulator; this wrapper passes it on as --endpoint-url. CodeBuild's own
 * image has no such wrapper and needs none.
 */
const AWS_ENDPOINT_WRAPPER = `#!/bin/sh
exec /usr/bin/aws \${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} "$@"
`;

/**
 * The stand-in for CodeBuild's standard image: what the buildspecs call (sh,
 * the AWS CLI, the Docker CLI, git, unzip) on the Node base. The Docker engine
 * is the host's, through its socket (CodeBuild's privileged mode runs its own).
 * Its user is the Node base's `node` (uid 1000, BUILD_UID in paths.ts).
 * DOCKER_BUILDKIT=1: the standard image's Docker 23 with buildx builds with
 * BuildKit, which builds only the stages the target needs.
 */
export const buildImageRecipe: ImageRecipe = standInRecipe(
  {
    name: "build",
    version: "1",
    what: "awscli, docker.io, git, unzip",
    packages: ["awscli", "docker.io", "git", "unzip", "zip", "ca-certificates"],
    steps: `COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY aws /usr/local/bin/aws
ENV DOCKER_BUILDKIT=1 AWS_PAGER=""
RUN mkdir -p ${SOURCE_DIR} && chown -R node:node /codebuild
WORKDIR ${SOURCE_DIR}
USER node
CMD ["sleep", "infinity"]
`,
    files: { aws: AWS_ENDPOINT_WRAPPER },
  },
  async (image) =>
    (await runInImage(image, ["sh", "-c", "aws --version; docker --version; git --version"]))
      .trim()
      .split("\n")
      .map((l) => l.split(" ").slice(0, 3).join(" ").replace(/,$/, ""))
      .join(", "),
);
