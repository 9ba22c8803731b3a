# Written by `rdsctl new-environment` from terraform/root/network.tf.j2, the root every environment shares:
# change it there and rewrite each environment (docs/environments.md).
# The foundation every generated rds_<name>.tf builds on: the environment's subnet group and
# KMS key, from one module shared with every environment so they cannot drift apart.
module "environment" {
  source = "../../modules/environment"

  environment         = "prod"
  database_subnet_ids = var.database_subnet_ids
  kms_key_arn         = var.kms_key_arn
}

locals {
  # What every generated rds_<name>.tf passes to the rds or aurora module.
  database_kms_key_arn       = module.environment.kms_key_arn
  database_subnet_group_name = module.environment.db_subnet_group_name
  # Aurora only: the zones its instances are spread over, and the AWS Backup plan it may join.
  database_availability_zones = module.environment.availability_zones
  database_aws_backup         = module.environment.aws_backup
}
