output "db_instance_identifier" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}

output "db_instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "db_instance_address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "db_instance_endpoint" {
  description = "Connection endpoint (host:port)."
  value       = aws_db_instance.this.endpoint
}

output "db_instance_port" {
  description = "Port the database listens on."
  value       = aws_db_instance.this.port
}

output "db_instance_resource_id" {
  description = "Resource id, used in IAM policies for IAM database authentication (rds-db:connect)."
  value       = aws_db_instance.this.resource_id
}

output "db_instance_master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (the ARN only, never the password)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "db_parameter_group_name" {
  description = "Name of the TLS-enforcing parameter group."
  value       = one(concat(aws_db_parameter_group.postgres[*].name, aws_db_parameter_group.mysql[*].name))
}

output "security_group_id" {
  description = "Security group of the instance; add ingress from new clients here or via allowed_* inputs."
  value       = aws_security_group.this.id
}

output "monitoring_role_arn" {
  description = "Enhanced monitoring role (null when monitoring_interval is 0)."
  value       = module.base.monitoring_role_arn
}
