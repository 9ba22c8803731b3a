output "db_subnet_group_name" {
  description = "The subnet group the database goes in: the one created here, or db_subnet_group_name."
  value       = var.create_db_subnet_group ? aws_db_subnet_group.this[0].name : var.db_subnet_group_name
}

output "monitoring_role_arn" {
  description = "Enhanced monitoring role, once it may be used (null when monitoring_interval is 0)."
  value       = try(aws_iam_role.monitoring[0].arn, null)
  # The role is of no use to RDS before its policy is attached.
  depends_on = [aws_iam_role_policy_attachment.monitoring]
}
