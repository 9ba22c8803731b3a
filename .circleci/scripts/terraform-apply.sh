#!/usr/bin/env bash
# Plan and apply one environment from main, in one job, inside the environment's CircleCI serial
# group (continue_config.yml), after `terraform init`:
#   .circleci/scripts/terraform-apply.sh <environment>
#
# - Without SAVED_PLAN (dev) the plan is made here, under the group and the state lock, and
#   applied at once.
# - An older commit never applies over a newer one: if main has moved on and a newer commit
#   changed this environment's Terraform, that commit's pipeline applies it (its tree holds this
#   commit's changes too), so this job applies nothing. CircleCI's serial groups already skip an
#   older pipeline while a newer one waits or runs; this also covers a newer one that finished.
# - It writes .applied/<environment>: the commit it applied, or "superseded by <sha>", for the
#   record-applied job (workspace), which then marks every request whose file is in that commit.
# - With SAVED_PLAN (prod: the plan an approver approved, made by the terraform-plan job of the
#   same commit and written next to it as <plan>.commit), that plan is applied instead of a new
#   one. terraform refuses a saved plan whose state has changed since (another apply in between):
#   the job fails and says so, and nothing but what was approved is ever applied.
set -euo pipefail

environment="${1:?usage: terraform-apply.sh <environment>}"
directory="terraform/envs/${environment}"
marker=".applied/${environment}"
main_branch="${MAIN_BRANCH:-main}"
mkdir -p .applied
rm -f "$marker"

head="$(git rev-parse HEAD)"
git fetch --quiet origin "$main_branch"
tip="$(git rev-parse FETCH_HEAD)"
if ! git merge-base --is-ancestor "$head" "$tip"; then
  echo "Commit ${head} is not on ${main_branch} (${tip}); refusing to apply it." >&2
  exit 1
fi
# What decides this environment's plan: its root module, the shared modules, the deploy settings.
newer="$(git rev-list -1 "${head}..${tip}" -- "$directory" terraform/modules deploy/settings.env)"
if [[ -n "$newer" ]]; then
  echo "superseded by ${newer}" > "$marker"
  echo "${main_branch} moved on: ${newer} changed ${environment} after ${head}. Its pipeline applies"
  echo "${environment} (with this commit's changes); applying the older tree would undo it."
  exit 0
fi

saved_plan="${SAVED_PLAN:-}"
if [[ -n "$saved_plan" ]]; then
  if [[ ! -f "$saved_plan" ]]; then
    echo "No saved plan at ${saved_plan}: the approved plan did not reach this job." >&2
    exit 1
  fi
  planned_at="$(cat "${saved_plan}.commit" 2> /dev/null || true)"
  if [[ "$planned_at" != "$head" ]]; then
    echo "The saved plan was made at ${planned_at:-an unknown commit}, not ${head}; refusing it." >&2
    exit 1
  fi
  saved_plan="$(cd "$(dirname "$saved_plan")" && pwd)/$(basename "$saved_plan")"
fi

cd "$directory"
if [[ -n "$saved_plan" ]]; then
  terraform show -no-color "$saved_plan" > plan.txt
  terraform apply -input=false -lock-timeout=10m -no-color "$saved_plan"
else
  terraform plan -input=false -lock-timeout=10m -no-color -out=tfplan
  terraform show -no-color tfplan > plan.txt
  terraform apply -input=false -lock-timeout=10m -no-color tfplan
fi
cd - > /dev/null
echo "$head" > "$marker"
echo "Applied ${environment} at ${head}."
