#!/usr/bin/env bash
# Print deploy/settings.env as export lines for $BASH_ENV, plus what Terraform reads from them:
#   .circleci/scripts/settings.sh >> "$BASH_ENV"
# The file is the one source of the region and the requests table name; values set in a CircleCI
# context are overridden, so a context cannot point record-applied at another table.
set -euo pipefail

settings="${1:-$(dirname "$0")/../../deploy/settings.env}"
while IFS= read -r line || [[ -n "$line" ]]; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  if [[ ! "$line" =~ ^([A-Z][A-Z0-9_]*)=([A-Za-z0-9._/-]+)$ ]]; then
    echo "settings.sh: not a plain KEY=value line in ${settings}: ${line}" >&2
    exit 1
  fi
  printf 'export %s=%q\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  if [[ "${BASH_REMATCH[1]}" == AWS_REGION ]]; then
    printf 'export AWS_DEFAULT_REGION=%q\n' "${BASH_REMATCH[2]}"
    # terraform/envs/*/variables.tf: the provider's region.
    printf 'export TF_VAR_aws_region=%q\n' "${BASH_REMATCH[2]}"
  fi
done < "$settings"
