# The foundation every database of one environment shares. It lives in a module so dev and prod
# cannot drift apart; the root modules only say which environment and which network.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Customer managed key for storage, snapshots, Performance Insights and the master user secrets
# of this environment's databases (unless an existing key is given in kms_key_arn).
resource "aws_kms_key" "databases" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "rds-provisioner ${var.environment} databases"
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

  name          = "alias/rds-provisioner-${var.environment}"
  target_key_id = aws_kms_key.databases[0].key_id
}

# One subnet group shared by every database of the environment: RDS allows only 50 subnet
# groups per region, so a group per database would cap the number of databases.
resource "aws_db_subnet_group" "databases" {
  name_prefix = "rds-provisioner-${var.environment}-"
  description = "Private subnets of the ${var.environment} databases managed by rds-provisioner"
  subnet_ids  = var.database_subnet_ids
}
