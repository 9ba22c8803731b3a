terraform {
  # The range of the modules that call it (modules/rds, modules/aurora).
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
