terraform {
  # Cross-variable validation (create_db_subnet_group vs db_subnet_group_name and subnet_ids) needs Terraform 1.9+; the
  # root modules pin 1.10+ for S3 native state locking anyway.
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      # The range of the root modules (envs/*/versions.tf, which say why).
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
