# The `demo` image: the narrated walk-through with its templates and the app.
#   docker build -t demo .     (add --network host where npm needs the host's proxy)
#   AWS:   docker run -it -e REGION=eu-west-1 -e AWS_PROFILE -v ~/.aws:/home/lab/.aws:ro demo
#   local: docker run -it --network host -v /var/run/docker.sock:/var/run/docker.sock \
#            --group-add "$(stat -c %g /var/run/docker.sock)" demo
#   remove what it made: the same command with `teardown` after the image name
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /lab
COPY package.json package-lock.json ./
# Production dependencies only; none of them needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# An unprivileged user of its own; AWS config is mounted at /home/lab/.aws.
RUN useradd --create-home --uid 1001 --shell /bin/sh lab
WORKDIR /lab
COPY --from=deps /lab/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY setup ./setup
COPY infra ./infra
COPY code ./code
# Tells the walk-through it runs in this image, so it can explain how to start it.
ENV LAB_DEMO_IMAGE=1 \
    NODE_ENV=production
USER lab
ENTRYPOINT ["node", "bin/demo"]
