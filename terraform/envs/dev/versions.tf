terraform {
  # 1.10 is the first release with S3 native state locking (use_lockfile).
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the provider the machine image mirrors and `make test` plans with; 6.x is what CI
      # resolves from the registry. Every argument used here exists in both (checked against the
      # 6.0 upgrade guide), so the range is tested at its floor and valid across it.
      version = ">= 5.100, < 7.0"
    }
  }
}
