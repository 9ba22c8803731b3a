# Managed by rds-provisioner: one file per database, generated from a reviewed request.
# The values come from the environment policy (backend/domain/policy.py); change them here
# in a follow-up pull request like any other Terraform.

module "rds_orders" {
  #checkov:skip=CKV_AWS_157:dev databases run in one AZ to halve cost; the prod policy sets multi_az = true
  #checkov:skip=CKV_AWS_293:dev databases are disposable (a final snapshot is still taken); prod sets deletion_protection
  #checkov:skip=CKV_AWS_353:Performance Insights is a prod feature (MySQL on db.t3.micro cannot run it)
  #checkov:skip=CKV_AWS_118:enhanced monitoring is a prod feature; dev relies on the basic CloudWatch metrics
  source = "../../modules/rds"

  identifier           = "orders-dev"
  db_name              = "orders"
  engine               = "mysql"
  engine_version       = "8.4"
  family               = "mysql8.4"
  major_engine_version = "8.4"
  port                 = 3306

  instance_class        = "db.t3.micro"
  allocated_storage     = 20
  max_allocated_storage = 200

  multi_az                = false
  backup_retention_period = 7
  deletion_protection     = false

  performance_insights_enabled          = false
  performance_insights_retention_period = 7
  monitoring_interval                   = 0
  enabled_cloudwatch_logs_exports       = ["error", "slowquery"]

  vpc_id                     = var.vpc_id
  db_subnet_group_name       = local.database_subnet_group_name
  allowed_cidr_blocks        = var.allowed_cidr_blocks
  allowed_security_group_ids = var.allowed_security_group_ids
  kms_key_id                 = local.database_kms_key_arn

  tags = {
    RequestId   = "0b7d5a52-1c1e-4c0c-9d2c-3f0f1f7a9e01"
    RequestedBy = "U024BE7LH"
  }
}

output "rds_orders_endpoint" {
  description = "Endpoint (host:port) of orders-dev"
  value       = module.rds_orders.db_instance_endpoint
}

output "rds_orders_master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials of orders-dev"
  value       = module.rds_orders.db_instance_master_user_secret_arn
}
