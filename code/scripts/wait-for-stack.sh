#!/bin/sh
# Waits until a CloudFormation stack is ready to be used (created or updated),
# and fails if it failed. The image build (BuildAndPushImage) runs it before handing over to
# Deploy, because the environment stack is created at the same time as the
# pipeline and a first run must not deploy the service before it exists.
#   sh scripts/wait-for-stack.sh <stack-name> [timeout-seconds]
# What an error from describe-stacks means:
#   - "Stack with id ... does not exist" (ValidationError): not created yet, keep waiting;
#   - throttling (Throttling, "Rate exceeded"): keep waiting; the CLI has already
#     retried with backoff, the stack's state is simply unknown for this round, and
#     failing a release over a busy API would be wrong (the timeout still bounds it);
#   - anything else (access denied - e.g. the build's role deleted by a teardown -,
#     expired credentials, a wrong region, no network): fail at once, since waiting
#     cannot fix it and a build left waiting is billed for up to the timeout.
set -eu
stack=$1
timeout=${2:-1200}
interval=${WAIT_INTERVAL:-15}
waited=0
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

while :; do
  # AWS calls: cloudformation:DescribeStacks
  if ! status=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>"$errors"); then
    # The CLI's message on one line (it starts with an empty line).
    error=$(tr -s '\r\n\t' '   ' < "$errors" | sed 's/^ *//; s/ *$//')
    case "$error" in
      *"(ValidationError)"*"Stack with id $stack does not exist"*) status=NOT_FOUND ;;
      *"(Throttling)"* | *"(ThrottlingException)"* | *"Rate exceeded"*) status=THROTTLED ;;
      *)
        echo "wait-for-stack: cannot read the stack $stack, so not waiting for it: ${error:-aws exited with no message}" >&2
        exit 1
        ;;
    esac
  fi
  case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE)
      echo "$stack is ready ($status)"
      exit 0
      ;;
    *_IN_PROGRESS | NOT_FOUND | THROTTLED) ;; # still being made, not started yet, or not readable this round: keep waiting
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
