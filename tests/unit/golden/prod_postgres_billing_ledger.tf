# Managed by rds-provisioner: one file per database, generated from a reviewed request.
# The values come from the environment policy (backend/domain/policy.py); change them here
# in a follow-up pull request like any other Terraform.

module "rds_billing_ledger" {
  source = "../../modules/rds"

  identifier           = "billing-ledger-prod"
  db_name              = "billing_ledger"
  engine               = "postgres"
  engine_version       = "16"
  family               = "postgres16"
  major_engine_version = "16"
  port                 = 5432

  instance_class        = "db.t3.medium"
  allocated_storage     = 50
  max_allocated_storage = 1000

  multi_az                = true
  backup_retention_period = 30
  deletion_protection     = true

  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  vpc_id                     = var.vpc_id
  db_subnet_group_name       = local.database_subnet_group_name
  allowed_cidr_blocks        = var.allowed_cidr_blocks
  allowed_security_group_ids = var.allowed_security_group_ids
  kms_key_id                 = local.database_kms_key_arn

  tags = {
    Owner       = "payments-team"
    Purpose     = "invoice ledger for the billing service"
    RequestId   = "6f1c2a9e-8d4b-4e55-a0f1-2b9c7d3e4f10"
    RequestedBy = "api:ci-deployer"
  }
}

output "rds_billing_ledger_endpoint" {
  description = "Endpoint (host:port) of billing-ledger-prod"
  value       = module.rds_billing_ledger.db_instance_endpoint
}

output "rds_billing_ledger_master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials of billing-ledger-prod"
  value       = module.rds_billing_ledger.db_instance_master_user_secret_arn
}
