data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Customer managed key for storage, snapshots, Performance Insights and the master user
# secrets of the prod databases (unless an existing key is given in kms_key_arn).
resource "aws_kms_key" "databases" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "rds-provisioner prod databases"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  # The account-root statement is the AWS default key policy: access is granted through IAM
  # policies, and RDS/Secrets Manager use grants created on behalf of the calling principal.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EnableIAMPolicies"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_alias" "databases" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/rds-provisioner-prod"
  target_key_id = aws_kms_key.databases[0].key_id
}

locals {
  # The key every generated rds_<name>.tf passes to the module.
  database_kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.databases[0].arn
}
