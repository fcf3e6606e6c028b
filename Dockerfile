# The `demo` image: the walk-through harness with its templates and the app.
#   docker build --network host --build-arg NODE_IMAGE="$LAB_NODE_IMAGE" -t demo .
# (--network host lets npm reach the registry through the host's proxy.)
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /lab
COPY package.json package-lock.json ./
# Production dependencies only; install scripts are not needed by any of them.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /lab
COPY --from=deps /lab/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY setup ./setup
COPY infra ./infra
COPY code ./code
# The official image's unprivileged user (uid 1000); nothing here runs as root.
USER node
ENTRYPOINT ["bin/doctor"]
