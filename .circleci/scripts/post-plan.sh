#!/usr/bin/env bash
# Post a Terraform plan as a comment on the pull request of this pipeline's branch.
# usage: post-plan.sh <environment> <plan.txt>
# Needs GITHUB_TOKEN (context rds-provisioner-github); GITHUB_API_URL for GitHub Enterprise.
#
# The worker pushes the branch first and opens the pull request a moment later, so the pipeline
# often starts before the PR exists and CIRCLE_PULL_REQUEST is empty. So:
# - the plan's summary is first set as a commit status of the branch head (context
#   "terraform plan (<environment>)", linking the job): GitHub shows it on the PR whenever the PR
#   opens, however late;
# - the PR is looked up by branch (GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open),
#   retrying for up to PR_LOOKUP_ATTEMPTS x PR_LOOKUP_DELAY_SECONDS (default 12 x 10 s), and the
#   plan goes into ONE comment per environment, updated in place on every push (found by a hidden
#   marker), never a new comment per push.
# PLAN_BASE_SHA (set by the job that planned the branch merged into main) is named in the comment.
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

summary="$(grep -m1 -E '^(Plan:|No changes\.)' "$plan_file" || echo "Plan made")"
sha="${CIRCLE_SHA1:-}"
if [[ -n "$sha" ]]; then
  status="$(jq -n --arg env "$environment" --arg summary "${summary:0:140}" --arg url "${CIRCLE_BUILD_URL:-}" \
    '{state: "success", context: ("terraform plan (" + $env + ")"), description: $summary}
     + (if $url == "" then {} else {target_url: $url} end)')"
  github -X POST "${api_url}/repos/${owner}/${repository}/statuses/${sha}" --data "$status" > /dev/null
fi

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
if (( ${#plan} > max_chars )); then
  plan="(first $(( ${#plan} - max_chars )) characters cut; the full plan is a job artifact)
${plan: -max_chars}"
fi
marker="<!-- rds-provisioner terraform plan: ${environment} -->"
base="${PLAN_BASE_SHA:-}"
merged=""
if [[ -n "$base" ]]; then
  merged=" merged into ${MAIN_BRANCH:-main} at ${base:0:8}"
fi

body="$(jq -n \
  --arg marker "$marker" \
  --arg env "$environment" \
  --arg plan "$plan" \
  --arg sha "${sha:0:8}" \
  --arg merged "$merged" \
  --arg url "${CIRCLE_BUILD_URL:-}" \
  '{body: ($marker + "\n### Terraform plan: `" + $env + "` (" + $sha + $merged + ")\n\n<details><summary>Show plan</summary>\n\n```\n" + $plan + "\n```\n</details>\n\n[CircleCI job](" + $url + ")")}')"

existing="$(github -G "${api_url}/repos/${owner}/${repository}/issues/${pr_number}/comments" \
  --data-urlencode "per_page=100" \
  | jq -r --arg marker "$marker" 'first(.[] | select(.body | startswith($marker)) | .id) // empty')"
if [[ -n "$existing" ]]; then
  github -X PATCH "${api_url}/repos/${owner}/${repository}/issues/comments/${existing}" --data "$body" > /dev/null
  echo "Updated the ${environment} plan on pull request #${pr_number}."
else
  github -X POST "${api_url}/repos/${owner}/${repository}/issues/${pr_number}/comments" --data "$body" > /dev/null
  echo "Posted the ${environment} plan to pull request #${pr_number}."
fi
