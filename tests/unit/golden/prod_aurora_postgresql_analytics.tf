# Managed by rds-provisioner: one file per database, generated from a reviewed request.
# The values come from the environment policy (backend/domain/policy.py); change them here
# in a follow-up pull request like any other Terraform.

module "rds_analytics" {
  source = "../../modules/aurora"

  identifier           = "analytics-prod"
  db_name              = "analytics"
  engine               = "aurora-postgresql"
  engine_version       = "16"
  family               = "aurora-postgresql16"
  major_engine_version = "16"
  port                 = 5432

  instance_class = "db.r6g.large"
  instance_count = 2

  backup_retention_period = 30
  deletion_protection     = true
  aws_backup              = local.database_aws_backup

  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  enabled_cloudwatch_logs_exports       = ["postgresql"]

  vpc_id                     = var.vpc_id
  db_subnet_group_name       = local.database_subnet_group_name
  availability_zones         = local.database_availability_zones
  allowed_cidr_blocks        = var.allowed_cidr_blocks
  allowed_security_group_ids = var.allowed_security_group_ids
  kms_key_id                 = local.database_kms_key_arn

  tags = {
    Owner       = "data-team"
    Purpose     = "product analytics"
    RequestId   = "9c0e2f4a-3b5d-4f7a-8c1e-2b3c4d5e6f70"
    RequestedBy = "api:ci-deployer"
  }
}

output "rds_analytics_endpoint" {
  description = "Writer endpoint (host:port) of analytics-prod"
  value       = module.rds_analytics.writer_endpoint
}

output "rds_analytics_reader_endpoint" {
  description = "Reader endpoint (host:port) of analytics-prod"
  value       = module.rds_analytics.reader_endpoint
}

output "rds_analytics_master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials of analytics-prod"
  value       = module.rds_analytics.master_user_secret_arn
}
