# Managed by rds-provisioner: one file per database, generated from a reviewed request.
# The values come from the environment policy (backend/domain/policy.py); change them here
# in a follow-up pull request like any other Terraform.

module "rds_carts" {
  #checkov:skip=CKV_AWS_139:dev databases are disposable (a final snapshot is still taken); prod sets deletion_protection
  #checkov:skip=CKV_AWS_353:Performance Insights is a prod feature
  #checkov:skip=CKV_AWS_118:enhanced monitoring is a prod feature; dev relies on the basic CloudWatch metrics
  #checkov:skip=CKV2_AWS_8:dev clusters join no AWS Backup plan (Aurora's own backups and the final snapshot remain); prod joins the environment's plan
  source = "../../modules/aurora"

  identifier           = "carts-dev"
  db_name              = "carts"
  engine               = "aurora-mysql"
  engine_version       = "8.0"
  family               = "aurora-mysql8.0"
  major_engine_version = "8.0"
  port                 = 3306

  instance_class                     = "db.serverless"
  instance_count                     = 1
  serverlessv2_scaling_configuration = { min_capacity = 0.5, max_capacity = 2 }

  backup_retention_period = 7
  backtrack_window        = 0
  deletion_protection     = false

  performance_insights_enabled          = false
  performance_insights_retention_period = 7
  monitoring_interval                   = 0
  enabled_cloudwatch_logs_exports       = ["audit", "error", "slowquery"]

  vpc_id                     = var.vpc_id
  db_subnet_group_name       = local.database_subnet_group_name
  availability_zones         = local.database_availability_zones
  allowed_cidr_blocks        = var.allowed_cidr_blocks
  allowed_security_group_ids = var.allowed_security_group_ids
  kms_key_id                 = local.database_kms_key_arn

  tags = {
    RequestId   = "3c1f7e2a-5b8d-4f0e-9a6c-1d2e3f4a5b60"
    RequestedBy = "U024BE7LH"
  }
}

output "rds_carts_endpoint" {
  description = "Writer endpoint (host:port) of carts-dev"
  value       = module.rds_carts.writer_endpoint
}

output "rds_carts_reader_endpoint" {
  description = "Reader endpoint (host:port) of carts-dev"
  value       = module.rds_carts.reader_endpoint
}

output "rds_carts_master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials of carts-dev"
  value       = module.rds_carts.master_user_secret_arn
}
