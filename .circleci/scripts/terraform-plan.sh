#!/usr/bin/env bash
# A branch's plan of one environment, for its pull request: validate, plan, and the plan as text
# in terraform/envs/<environment>/plan.txt (posted by post-plan.sh, kept as an artifact). The
# local CI (local/ci.py) runs the same script against the local AWS.
#   .circleci/scripts/terraform-plan.sh <environment>
set -euo pipefail

environment="${1:?usage: terraform-plan.sh <environment>}"
cd "terraform/envs/${environment}"
terraform validate -no-color
terraform plan -input=false -lock-timeout=10m -no-color -out=tfplan
terraform show -no-color tfplan > plan.txt
