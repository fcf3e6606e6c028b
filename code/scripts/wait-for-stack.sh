#!/bin/sh
# Waits until a CloudFormation stack is ready to be used (created or updated),
# and fails if it failed. The image build (BuildAndPushImage) runs it before handing over to
# Deploy, because the environment stack is created at the same time as the
# pipeline and a first run must not deploy the service before it exists.
#   sh scripts/wait-for-stack.sh <stack-name> [timeout-seconds]
set -eu
stack=$1
timeout=${2:-1200}
interval=${WAIT_INTERVAL:-15}
waited=0

while :; do
  # AWS calls: cloudformation:DescribeStacks
  status=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NOT_FOUND)
  case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE)
      echo "$stack is ready ($status)"
      exit 0
      ;;
    *_IN_PROGRESS | NOT_FOUND) ;; # still being made (or not started yet): keep waiting
    *)
      echo "$stack is $status, so the service cannot be deployed into it; see the stack's events in the CloudFormation console." >&2
      exit 1
      ;;
  esac
  if [ "$waited" -ge "$timeout" ]; then
    echo "$stack was still $status after ${timeout}s; giving up." >&2
    exit 1
  fi
  echo "waiting for $stack ($status)"
  sleep "$interval"
  waited=$((waited + interval))
done
