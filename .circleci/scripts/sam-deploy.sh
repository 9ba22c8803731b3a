#!/usr/bin/env bash
# Deploy the stack `make build` built, with parameter values from the rds-provisioner-deploy context.
# Credentials come from aws-cli/setup (CircleCI OIDC); nothing here holds a key. The region and the
# name prefix (hence the requests table name) come from deploy/settings.env, which the job exports
# (.circleci/scripts/settings.sh), like the Terraform and record-applied jobs.
set -euo pipefail

: "${AWS_REGION:?export deploy/settings.env first (.circleci/scripts/settings.sh)}"
: "${NAME_PREFIX:?export deploy/settings.env first (.circleci/scripts/settings.sh)}"
: "${GITOPS_REPOSITORY:?set GITOPS_REPOSITORY (owner/name of the Terraform repository) in the context}"

overrides=("GitHubRepository=${GITOPS_REPOSITORY}" "NamePrefix=${NAME_PREFIX}")
# Optional context variable -> template parameter; unset variables keep the template defaults.
add() {
  local variable="$1" parameter="$2"
  if [[ -n "${!variable:-}" ]]; then
    overrides+=("${parameter}=${!variable}")
  fi
}
add GITOPS_BASE_BRANCH GitHubBaseBranch
add GITOPS_API_URL GitHubApiUrl
add GITHUB_APP_ID GitHubAppId
add GITHUB_APP_INSTALLATION_ID GitHubAppInstallationId
add SLACK_BOT_USER_ID SlackBotUserId
add SLACK_BOT_ID SlackBotId
add SLACK_TEAM_ID SlackTeamId
add SLACK_ENTERPRISE_ID SlackEnterpriseId
add PROD_ALLOWED_SLACK_USERS ProdAllowedSlackUsers
add PLATFORM_ADMINS PlatformAdmins
add PROD_APPROVERS ProdApprovers
add API_DOMAIN_NAME ApiDomainName
add API_CERTIFICATE_ARN ApiCertificateArn
add APPROVALS_CHANNEL ApprovalsChannel
add API_CLIENTS ApiClients
add ALARM_EMAIL AlarmEmail
add MANAGE_API_GATEWAY_ACCOUNT ManageApiGatewayAccount

# bootstrap/ci-roles.yaml's DeployExecutionRole: CloudFormation creates the stack's resources as
# that role, so the job's own role needs no rights on them.
role=()
if [[ -n "${SAM_EXECUTION_ROLE_ARN:-}" ]]; then
  role=(--role-arn "$SAM_EXECUTION_ROLE_ARN")
fi

SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam deploy \
  --template-file .aws-sam/build/template.yaml \
  --config-file "$PWD/sam/samconfig.toml" \
  --config-env ci \
  --region "$AWS_REGION" \
  --no-progressbar \
  "${role[@]}" \
  --parameter-overrides "${overrides[@]}"
