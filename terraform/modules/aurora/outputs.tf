output "cluster_identifier" {
  description = "Aurora DB cluster identifier."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "ARN of the Aurora DB cluster."
  value       = aws_rds_cluster.this.arn
}

output "cluster_resource_id" {
  description = "Cluster resource id, used in IAM policies for IAM database authentication (rds-db:connect on dbuser:<resource id>/<user>)."
  value       = aws_rds_cluster.this.cluster_resource_id
}

output "writer_address" {
  description = "Host name of the cluster (writer) endpoint: always the current writer, across failovers."
  value       = aws_rds_cluster.this.endpoint
}

output "writer_endpoint" {
  description = "Cluster (writer) endpoint as host:port, the form modules/rds gives for an instance."
  value       = "${aws_rds_cluster.this.endpoint}:${aws_rds_cluster.this.port}"
}

output "reader_address" {
  description = "Host name of the reader endpoint: load-balanced over the readers (the writer itself while there is no reader)."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint as host:port."
  value       = "${aws_rds_cluster.this.reader_endpoint}:${aws_rds_cluster.this.port}"
}

output "port" {
  description = "Port the cluster listens on."
  value       = aws_rds_cluster.this.port
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (the ARN only, never the password)."
  value       = try(aws_rds_cluster.this.master_user_secret[0].secret_arn, null)
}

output "instance_identifiers" {
  description = "Identifiers of the cluster's instances, by number (1, 2, ...)."
  value       = { for key, instance in aws_rds_cluster_instance.this : key => instance.identifier }
}

output "cluster_parameter_group_name" {
  description = "Name of the TLS-enforcing cluster parameter group."
  value       = one(concat(aws_rds_cluster_parameter_group.postgresql[*].name, aws_rds_cluster_parameter_group.mysql[*].name))
}

output "security_group_id" {
  description = "Security group of the cluster; add ingress from new clients here or via allowed_* inputs."
  value       = aws_security_group.this.id
}

output "monitoring_role_arn" {
  description = "Enhanced monitoring role (null when monitoring_interval is 0)."
  value       = module.base.monitoring_role_arn
}
