output "kms_key_arn" {
  description = "The KMS key every database of the environment is encrypted with."
  value       = local.kms_key_arn
}

output "db_subnet_group_name" {
  description = "The subnet group every database of the environment is placed in."
  value       = aws_db_subnet_group.databases.name
}

output "availability_zones" {
  description = "The availability zones of the database subnets, sorted (modules/aurora input availability_zones)."
  value       = local.availability_zones
}

output "aws_backup" {
  description = "The environment's AWS Backup plan and the role AWS Backup assumes (modules/aurora input aws_backup)."
  value = {
    plan_id      = aws_backup_plan.databases.id
    iam_role_arn = aws_iam_role.backup.arn
  }
}
