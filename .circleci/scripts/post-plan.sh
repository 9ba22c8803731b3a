#!/usr/bin/env bash
# Post a Terraform plan as a comment on the pull request this pipeline builds.
# usage: post-plan.sh <environment> <plan.txt>
# Needs GITHUB_TOKEN (context rds-provisioner-github); GITHUB_API_URL for GitHub Enterprise.
set -euo pipefail

environment="$1"
plan_file="$2"

if [[ -z "${CIRCLE_PULL_REQUEST:-}" ]]; then
  echo "No pull request for this branch; the plan is in the job output and artifacts."
  exit 0
fi
: "${GITHUB_TOKEN:?set GITHUB_TOKEN in the rds-provisioner-github context}"

pr_number="${CIRCLE_PULL_REQUEST##*/}"
api_url="${GITHUB_API_URL:-https://api.github.com}"
# GitHub rejects comments over 65536 characters; keep the end of the plan, where the summary is.
max_chars=60000

plan="$(cat "$plan_file")"
if (( ${#plan} > max_chars )); then
  plan="(first $(( ${#plan} - max_chars )) characters cut; the full plan is a job artifact)
${plan: -max_chars}"
fi

body="$(jq -n \
  --arg env "$environment" \
  --arg plan "$plan" \
  --arg sha "${CIRCLE_SHA1:0:8}" \
  --arg url "${CIRCLE_BUILD_URL:-}" \
  '{body: ("### Terraform plan: `" + $env + "` (" + $sha + ")\n\n<details><summary>Show plan</summary>\n\n```\n" + $plan + "\n```\n</details>\n\n[CircleCI job](" + $url + ")")}')"

curl --fail-with-body --silent --show-error \
  -X POST \
  -H "Authorization: Bearer ${GITHUB_TOKEN}" \
  -H "Accept: application/vnd.github+json" \
  -H "X-GitHub-Api-Version: 2022-11-28" \
  "${api_url}/repos/${CIRCLE_PROJECT_USERNAME}/${CIRCLE_PROJECT_REPONAME}/issues/${pr_number}/comments" \
  --data "$body" > /dev/null
echo "Posted the ${environment} plan to pull request #${pr_number}."
