#!/usr/bin/env bash
# The tests job's terraform: HashiCorp's apt repository (packages signed with HashiCorp's key)
# and a filesystem mirror of the hashicorp/aws provider in the range terraform/envs/* admit
# (terraform checks the registry's signatures). The tests then install providers from the mirror
# only, as on developers' machines (tests/support/terraform.py).
#   .circleci/scripts/install-terraform.sh <mirror directory>
set -euo pipefail

mirror="${1:?usage: install-terraform.sh <mirror directory>}"
version="${TERRAFORM_VERSION:-1.11.4}"

if ! terraform version 2> /dev/null | grep -q "^Terraform v${version}$"; then
  keyring=/usr/share/keyrings/hashicorp-archive-keyring.gpg
  curl -fsSL https://apt.releases.hashicorp.com/gpg | sudo gpg --batch --yes --dearmor -o "$keyring"
  # shellcheck source=/dev/null
  codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
  echo "deb [signed-by=${keyring}] https://apt.releases.hashicorp.com ${codename} main" \
    | sudo tee /etc/apt/sources.list.d/hashicorp.list > /dev/null
  sudo apt-get update -qq
  sudo apt-get install -y -qq "terraform=${version}-*"
fi
terraform version

if [[ ! -d "${mirror}/registry.terraform.io/hashicorp/aws" ]]; then
  (cd terraform/envs/dev && terraform providers mirror -platform=linux_amd64 "$mirror")
fi
ls "${mirror}/registry.terraform.io/hashicorp/aws"
