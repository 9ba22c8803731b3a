#!/usr/bin/env bash
# Drift: plan main of one environment against what exists. main is applied, so any change the
# plan shows was made outside Terraform (someone resized an instance in the console).
#   .circleci/scripts/drift.sh <environment>
# On drift it writes terraform/envs/<environment>/drift.json (terraform show -json of the plan)
# and posts each drifted database and attribute to Slack (DRIFT_CHANNEL) with
# python -m backend.cli.drift; DRIFT_REPORT=0 leaves the reporting to the caller (the local CI).
# Exits 0 whether or not there is drift (the report is the alert), non-zero when the plan fails.
set -euo pipefail

environment="${1:?usage: drift.sh <environment>}"
directory="terraform/envs/${environment}"
python="${PYTHON:-.venv/bin/python}"

status=0
(cd "$directory" && terraform plan -input=false -lock-timeout=10m -no-color -detailed-exitcode -out=drift.tfplan) \
  || status=$?
case "$status" in
  0)
    echo "No drift in ${environment}: it matches main."
    exit 0
    ;;
  2) ;;
  *)
    echo "terraform plan of ${environment} failed (exit ${status})." >&2
    exit "$status"
    ;;
esac
(cd "$directory" && terraform show -json drift.tfplan > drift.json)
echo "Drift in ${environment}: see ${directory}/drift.json."
if [[ "${DRIFT_REPORT:-1}" != "0" ]]; then
  "$python" -m backend.cli.drift --environment "$environment" --plan "${directory}/drift.json"
fi
