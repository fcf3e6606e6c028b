# The `demo` image: the narrated walk-through with its templates and the app.
#   docker build -t demo .     (add --network host where npm needs the host's proxy)
#   AWS:   docker run -it --rm -e REGION=eu-west-1 -e AWS_PROFILE --user "$(id -u):$(id -g)" -v ~/.aws:/home/lab/.aws:ro -v ~/.aws-cicd-lab:/home/lab/.aws-cicd-lab demo
#   local: docker run -it --network host -v /var/run/docker.sock:/var/run/docker.sock \
#            --group-add "$(stat -c %g /var/run/docker.sock)" demo
#   remove what it made: the same command with `teardown` after the image name
# On AWS it runs as you (--user): ~/.aws files are readable by their owner only (0600) and a Linux
# host shares them with the host's uid, so no fixed user of the image could read them. Without
# --user it runs as its own unprivileged user, never as root. The mount can stay read-only: an SSO
# token the SDK refreshes and cannot write back is still used for the run.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /lab
COPY package.json package-lock.json ./
# Production dependencies only; none of them needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# An unprivileged user of its own. Any other uid (--user) gets the same home, with ~/.aws mounted at
# /home/lab/.aws: HOME is set here, since Docker makes it / for a uid the image does not know, and the
# home is writable by every uid, as /tmp is. The SDK finds config, credentials and the SSO token cache
# (~/.aws/sso/cache) through HOME; Node's compile cache is in /tmp; nothing runs npm at run time.
RUN useradd --create-home --uid 1001 --shell /bin/sh lab && chmod 1777 /home/lab
ENV HOME=/home/lab
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
