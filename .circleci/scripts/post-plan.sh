#!/usr/bin/env bash
# Post a Terraform plan as a comment on the pull request of this pipeline's branch.
# usage: post-plan.sh <environment> <plan.txt>
# Needs GITHUB_TOKEN (context rds-provisioner-github); GITHUB_API_URL for GitHub Enterprise.
#
# The worker pushes the branch first and opens the pull request a moment later, so the pipeline
# often starts before the PR exists and CIRCLE_PULL_REQUEST is empty. The PR is then looked up by
# branch (GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open), retrying for up to
# PR_LOOKUP_ATTEMPTS x PR_LOOKUP_DELAY_SECONDS (default 12 x 10 s).
set -euo pipefail

environment="$1"
plan_file="$2"
branch="${CIRCLE_BRANCH:-}"
owner="${CIRCLE_PROJECT_USERNAME:?}"
repository="${CIRCLE_PROJECT_REPONAME:?}"
api_url="${GITHUB_API_URL:-https://api.github.com}"
attempts="${PR_LOOKUP_ATTEMPTS:-12}"
delay="${PR_LOOKUP_DELAY_SECONDS:-10}"

if [[ -z "$branch" || "$branch" == "${MAIN_BRANCH:-main}" ]]; then
  echo "No pull request for ${branch:-this pipeline}; the plan is in the job output and artifacts."
  exit 0
fi
: "${GITHUB_TOKEN:?set GITHUB_TOKEN in the rds-provisioner-github context}"

github() {
  curl --fail-with-body --silent --show-error \
    -H "Authorization: Bearer ${GITHUB_TOKEN}" \
    -H "Accept: application/vnd.github+json" \
    -H "X-GitHub-Api-Version: 2022-11-28" \
    "$@"
}

pr_url="${CIRCLE_PULL_REQUEST:-}"
pr_number="${pr_url##*/}"
attempt=1
while [[ -z "$pr_number" ]]; do
  pr_number="$(github -G "${api_url}/repos/${owner}/${repository}/pulls" \
    --data-urlencode "head=${owner}:${branch}" --data-urlencode "state=open" \
    | jq -r 'first(.[].number) // empty')"
  if [[ -n "$pr_number" ]]; then
    break
  fi
  if (( attempt >= attempts )); then
    echo "No open pull request for ${branch} after ${attempts} look-ups; the plan is in the job artifacts."
    exit 0
  fi
  echo "No open pull request for ${branch} yet (look-up ${attempt}/${attempts}); retrying in ${delay} s."
  attempt=$(( attempt + 1 ))
  sleep "$delay"
done

# GitHub rejects comments over 65536 characters; keep the end of the plan, where the summary is.
max_chars=60000
plan="$(cat "$plan_file")"
sha="${CIRCLE_SHA1:-}"
if (( ${#plan} > max_chars )); then
  plan="(first $(( ${#plan} - max_chars )) characters cut; the full plan is a job artifact)
${plan: -max_chars}"
fi

body="$(jq -n \
  --arg env "$environment" \
  --arg plan "$plan" \
  --arg sha "${sha:0:8}" \
  --arg url "${CIRCLE_BUILD_URL:-}" \
  '{body: ("### Terraform plan: `" + $env + "` (" + $sha + ")\n\n<details><summary>Show plan</summary>\n\n```\n" + $plan + "\n```\n</details>\n\n[CircleCI job](" + $url + ")")}')"

github -X POST "${api_url}/repos/${owner}/${repository}/issues/${pr_number}/comments" \
  --data "$body" > /dev/null
echo "Posted the ${environment} plan to pull request #${pr_number}."
