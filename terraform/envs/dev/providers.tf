provider "aws" {
  region = var.aws_region

  # Every resource, including those of each database module, carries these tags.
  default_tags {
    tags = {
      ManagedBy   = "rds-provisioner"
      Environment = "dev"
      Repository  = var.repository
    }
  }
}
