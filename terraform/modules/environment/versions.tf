terraform {
  # The root modules pin 1.10+ for S3 native state locking; this module follows them.
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}
