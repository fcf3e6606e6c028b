#!/bin/sh
# Runs the app's lint and unit tests exactly as the image build does (the
# Dockerfile's test stage, on the same Node), copies the results out — the
# JUnit report included — and fails if a check failed.
#   sh scripts/run-checks.sh [reports-dir]
# Optional: NODE_IMAGE (base image), DOCKER_BUILD_NETWORK (e.g. host).
set -eu
reports=${1:-reports}
image=lab-app-checks

docker build --target test \
  ${NODE_IMAGE:+--build-arg NODE_IMAGE="$NODE_IMAGE"} \
  ${DOCKER_BUILD_NETWORK:+--network "$DOCKER_BUILD_NETWORK"} \
  -t "$image" .

mkdir -p "$reports"
container=$(docker create "$image")
docker cp "$container:/app/reports/." "$reports/"
docker rm "$container" >/dev/null

lint=$(cat "$reports/lint.exit")
tests=$(cat "$reports/test.exit")
echo "checks: lint exit $lint, tests exit $tests (JUnit report: $reports/junit.xml)"
[ "$lint" = 0 ] || { echo "checks: lint failed:" >&2; cat "$reports/lint.txt" >&2; exit 1; }
[ "$tests" = 0 ] || { echo "checks: unit tests failed (see above)" >&2; exit 1; }
