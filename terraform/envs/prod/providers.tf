# Written by `rdsctl new-environment` from terraform/root/providers.tf.j2, the root every environment shares:
# change it there and rewrite each environment (docs/environments.md).
provider "aws" {
  region = var.aws_region

  # Every resource, including those of each database module, carries these tags.
  default_tags {
    tags = {
      ManagedBy   = "rds-provisioner"
      Environment = "prod"
      Repository  = var.repository
    }
  }
}
