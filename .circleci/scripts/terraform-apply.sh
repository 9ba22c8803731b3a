#!/usr/bin/env bash
# Plan and apply one environment from main, in one job, inside the environment's CircleCI serial
# group (continue_config.yml), after `terraform init`:
#   .circleci/scripts/terraform-apply.sh <environment>
#
# - The plan is made here, under the group and the state lock, and applied at once: a saved plan
#   from an earlier job could have gone stale while another merge was being applied.
# - An older commit never applies over a newer one: if main has moved on and a newer commit
#   changed this environment's Terraform, that commit's pipeline applies it (its tree holds this
#   commit's changes too), so this job applies nothing. CircleCI's serial groups already skip an
#   older pipeline while a newer one waits or runs; this also covers a newer one that finished.
# - It writes .applied/<environment>: the commit it applied, or "superseded by <sha>", for the
#   record-applied job (workspace), which then marks every request whose file is in that commit.
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

cd "$directory"
terraform plan -input=false -lock-timeout=10m -no-color -out=tfplan
terraform show -no-color tfplan > plan.txt
terraform apply -input=false -lock-timeout=10m -no-color tfplan
cd - > /dev/null
echo "$head" > "$marker"
echo "Applied ${environment} at ${head}."
