# The foundation every database of one environment shares. It lives in a module so environments
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

locals {
  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.databases[0].arn
}

# The zones of the database subnets, read at plan time: Aurora clusters place their instances
# over them in turn, so a writer and its reader never share a zone (modules/aurora).
data "aws_subnet" "database" {
  for_each = toset(var.database_subnet_ids)

  id = each.value
}

locals {
  availability_zones = sort(distinct([for subnet in data.aws_subnet.database : subnet.availability_zone]))
}

# One subnet group shared by every database of the environment: RDS allows only 50 subnet
# groups per region, so a group per database would cap the number of databases.
resource "aws_db_subnet_group" "databases" {
  name_prefix = "rds-provisioner-${var.environment}-"
  description = "Private subnets of the ${var.environment} databases managed by rds-provisioner"
  subnet_ids  = var.database_subnet_ids

  lifecycle {
    precondition {
      condition     = length(local.availability_zones) >= 2
      error_message = "database_subnet_ids must span at least two availability zones (RDS requires it; Aurora places a writer and its reader in different zones)."
    }
  }
}

################################################################################
# AWS Backup: a vault and a daily plan the databases can join (modules/aurora input aws_backup).
# Recovery points outlive the database: deleting a cluster (a decommission) leaves them in the
# vault until the plan's retention ends. Nothing is backed up, or billed, until a database joins.
################################################################################

resource "aws_backup_vault" "databases" {
  name        = "rds-provisioner-${var.environment}"
  kms_key_arn = local.kms_key_arn
}

resource "aws_backup_plan" "databases" {
  name = "rds-provisioner-${var.environment}-databases"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.databases.name
    schedule          = "cron(0 5 * * ? *)"
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.aws_backup_retention_days
    }
  }
}

resource "aws_iam_role" "backup" {
  name_prefix = "rds-provisioner-${var.environment}-backup-"
  description = "AWS Backup for the ${var.environment} databases managed by rds-provisioner"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "backup.amazonaws.com" }
      # Only AWS Backup acting for this account may assume the role (confused deputy protection).
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}
