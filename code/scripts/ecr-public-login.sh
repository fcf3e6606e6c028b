#!/bin/sh
# Signs Docker in to ECR Public when the base image comes from it, so that
# pulling it is not anonymous: anonymous pulls are rate limited per IP address,
# and CodeBuild's hosts share their addresses. Any other image is left alone
# (nothing to sign in to): the local rehearsal, for one, overrides NODE_IMAGE
# with a local image, so no sign-in happens there.
#   sh scripts/ecr-public-login.sh <image>
# Needs ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken.
set -eu
image=${1:?usage: sh scripts/ecr-public-login.sh <image>}

case "$image" in
  public.ecr.aws/*) ;;
  *)
    echo "ecr-public-login: $image is not on ECR Public; not signing in."
    exit 0
    ;;
esac

# ECR Public's guide: always authenticate through us-east-1, wherever the build runs.
# (The token is read first: a pipe into docker login would hide the CLI failing.)
# AWS calls: ecr-public:GetAuthorizationToken sts:GetServiceBearerToken (ecr-public get-login-password)
if ! password=$(aws ecr-public get-login-password --region us-east-1); then
  echo "ecr-public-login: could not get an ECR Public token for $image (see above); the build's role needs ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken." >&2
  exit 1
fi
if ! printf '%s' "$password" | docker login --username AWS --password-stdin public.ecr.aws; then
  echo "ecr-public-login: docker login to public.ecr.aws failed (see above)." >&2
  exit 1
fi
echo "ecr-public-login: signed in to ECR Public for $image"
