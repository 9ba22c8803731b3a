#!/usr/bin/env bash
# After terraform-apply.sh: mark applied every request whose rds_<name>.tf is in the applied
# commit, not only the files that commit changed, so a pipeline that failed, was skipped or was
# superseded is caught up by the next apply. python -m backend.cli.record_applied is idempotent:
# requests already applied stay unchanged and are not announced twice; files no request made
# are reported as unknown.
#   .circleci/scripts/record-applied.sh <environment>
set -euo pipefail

environment="${1:?usage: record-applied.sh <environment>}"
marker=".applied/${environment}"
python="${PYTHON:-.venv/bin/python}"

if [[ ! -f "$marker" ]]; then
  echo "No ${marker}: the apply job did not finish, so nothing is recorded." >&2
  exit 1
fi
applied="$(cat "$marker")"
if [[ "$applied" == superseded* ]]; then
  echo "This pipeline applied nothing (${applied}); the newer pipeline records its requests."
  exit 0
fi
if [[ "$applied" != "$(git rev-parse HEAD)" ]]; then
  echo "${marker} names ${applied}, but this job checked out $(git rev-parse HEAD)." >&2
  exit 1
fi

# A prod decommission's first step applied queues its second on the SAM stack's topic, named after
# NAME_PREFIX (deploy/settings.env); a context may give REQUESTS_TOPIC_ARN instead.
if [[ -z "${REQUESTS_TOPIC_ARN:-}" ]]; then
  account="$("$python" -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Account"])')"
  export REQUESTS_TOPIC_ARN="arn:${AWS_PARTITION:-aws}:sns:${AWS_REGION:?}:${account}:${NAME_PREFIX:?}-requests"
fi

shopt -s nullglob
files=("terraform/envs/${environment}"/rds_*.tf)
echo "Recording ${#files[@]} database file(s) of ${environment} at ${applied}."
exec "$python" -m backend.cli.record_applied --environment "$environment" --files "${files[@]}"
