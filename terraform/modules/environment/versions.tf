terraform {
  # The root modules pin 1.10+ for S3 native state locking; this module follows them.
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      # The range of the root modules (envs/*/versions.tf, which say why).
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
