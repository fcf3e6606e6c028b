// The registry stand-in's image, in place of ECR's registry.
import { runInImage } from "../images/process.ts";
import type { ImageRecipe } from "../images/recipe.ts";
import { standInRecipe } from "../images/stand-in.ts";
import { REGISTRY_PORT } from "./registry.ts";

/** Distribution's configuration: filesystem storage, plain HTTP on :5000 (published on 127.0.0.1 only). */
const REGISTRY_CONFIG = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: :${REGISTRY_PORT}
`;

/** The stand-in for ECR's registry: Debian's docker-registry (Distribution 2.8). */
export const registryRecipe: ImageRecipe = standInRecipe(
  {
    name: "registry",
    version: "1",
    what: "docker-registry",
    packages: ["docker-registry"],
    steps: `COPY config.yml /etc/docker/registry/config.yml
USER docker-registry
EXPOSE ${REGISTRY_PORT}
CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
`,
    files: { "config.yml": REGISTRY_CONFIG },
  },
  async (image) =>
    (await runInImage(image, ["/usr/bin/docker-registry", "--version"])).trim().split(" ").slice(-2).join(" "),
);
