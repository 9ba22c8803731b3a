output "kms_key_arn" {
  description = "The KMS key every database of the environment is encrypted with."
  value       = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.databases[0].arn
}

output "db_subnet_group_name" {
  description = "The subnet group every database of the environment is placed in."
  value       = aws_db_subnet_group.databases.name
}
