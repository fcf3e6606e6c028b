// The load balancer stand-in's image: Debian's HAProxy 2.6 on the Node base.
import { runInImage } from "../images/process.ts";
import type { ImageRecipe } from "../images/recipe.ts";
import { standInRecipe } from "../images/stand-in.ts";

/** The environment variable the proxy's configuration comes in (so `docker inspect` shows it). */
export const HAPROXY_CONFIG_VARIABLE = "HAPROXY_CFG";

/**
 * The stand-in for the Application Load Balancer: Debian's HAProxy 2.6. Its
 * configuration (listener, target group) is written into the container at
 * start by load-balancer.ts; targets come and go through its runtime API.
 */
export const proxyRecipe: ImageRecipe = standInRecipe(
  {
    name: "proxy",
    version: "1",
    what: "haproxy",
    packages: ["haproxy"],
    // The configuration comes in HAPROXY_CONFIG_VARIABLE (load-balancer.ts renders it from the templates), so
    // `docker inspect` shows it; -W: master-worker, -db: in the foreground, logging to stdout.
    steps: `RUN mkdir -p /run/haproxy && chown haproxy:haproxy /run/haproxy
USER haproxy
CMD ["/bin/sh", "-c", "printf '%s\\n' \\"$${HAPROXY_CONFIG_VARIABLE}\\" > /run/haproxy/haproxy.cfg && exec /usr/sbin/haproxy -W -db -f /run/haproxy/haproxy.cfg"]
`,
    files: {},
  },
  async (image) =>
    ((await runInImage(image, ["/usr/sbin/haproxy", "-v"])).split("\n")[0] ?? "").split(" ").slice(0, 3).join(" "),
);
