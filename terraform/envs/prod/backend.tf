# Written by `rdsctl new-environment` from terraform/root/backend.tf.j2, the root every environment shares:
# change it there and rewrite each environment (docs/environments.md).
# Partial configuration: CI passes the bucket and region with
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<region>"
# so no account-specific value is committed. Locking uses an S3 lock file (no DynamoDB table).
terraform {
  backend "s3" {
    key          = "rds-provisioner/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
