# Written by `rdsctl new-environment` from terraform/root/versions.tf.j2, the root every environment shares:
# change it there and rewrite each environment (docs/environments.md).
terraform {
  # 1.10 is the first release with S3 native state locking (use_lockfile).
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # One major: the committed .terraform.lock.hcl pins the exact release (5.100.0, the one the
      # machine image mirrors and `make test` plans with), so a PR's plan and main's apply run the
      # same provider; moving within 5.x is `terraform init -upgrade` and a reviewed lock change.
      version = "~> 5.100"
    }
  }
}
