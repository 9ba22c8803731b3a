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
