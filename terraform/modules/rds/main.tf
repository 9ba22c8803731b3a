locals {
  standard_log_exports = {
    mysql    = ["error", "slowquery"]
    postgres = ["postgresql", "upgrade"]
  }
  enabled_cloudwatch_logs_exports = coalesce(var.enabled_cloudwatch_logs_exports, local.standard_log_exports[var.engine])
}

################################################################################
# Parameter groups: TLS for every connection, and the logs we export actually written.
#
# One resource per engine with static parameters, of which only the requested engine's is
# created: static blocks let reviewers (and checkov) see that TLS is forced. Each family is
# derived from its own engine name, so it can never pair postgres parameters with a mysql
# family; var.family is validated to match it.
################################################################################

resource "aws_db_parameter_group" "postgres" {
  count = var.engine == "postgres" ? 1 : 0

  name_prefix = "${var.identifier}-"
  description = "${var.identifier}: PostgreSQL ${var.major_engine_version}, TLS required"
  family      = "postgres${var.major_engine_version}"

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  # DDL only: logging every statement would flood the logs and could carry data. Set passwords
  # with \password (psql sends a hash), never CREATE ROLE ... PASSWORD in clear text.
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "immediate"
  }

  parameter {
    name         = "log_min_duration_statement"
    value        = "1000"
    apply_method = "immediate"
  }

  dynamic "parameter" {
    for_each = var.parameters
    content {
      name         = parameter.value.name
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_parameter_group" "mysql" {
  count = var.engine == "mysql" ? 1 : 0

  name_prefix = "${var.identifier}-"
  description = "${var.identifier}: MySQL ${var.major_engine_version}, TLS required"
  family      = "mysql${var.major_engine_version}"

  # RDS reports this boolean as 1/0; "ON" would show a diff on every plan.
  parameter {
    name         = "require_secure_transport"
    value        = "1"
    apply_method = "immediate"
  }

  parameter {
    name         = "slow_query_log"
    value        = "1"
    apply_method = "immediate"
  }

  parameter {
    name         = "long_query_time"
    value        = "1"
    apply_method = "immediate"
  }

  # CloudWatch Logs exports read log files; RDS MySQL writes to tables by default.
  parameter {
    name         = "log_output"
    value        = "FILE"
    apply_method = "immediate"
  }

  dynamic "parameter" {
    for_each = var.parameters
    content {
      name         = parameter.value.name
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Network: a security group that admits only the given CIDR blocks and security groups, on the
# database port only. Its rules, the subnet group (unless the environment shares one) and the
# enhanced-monitoring role are the same for every kind of database: modules/database-base
# (moved.tf says where they were before). The group stays here, beside the database it is
# attached to: checkov judges a group's attachment within one module (CKV2_AWS_5).
################################################################################

resource "aws_security_group" "this" {
  name_prefix = "${var.identifier}-"
  description = "Database clients of ${var.identifier}"
  vpc_id      = var.vpc_id

  # No egress rules: the database never opens connections, and Terraform removes the
  # allow-all egress rule AWS adds to new security groups.

  tags = merge(var.tags, { Name = var.identifier })

  lifecycle {
    create_before_destroy = true
  }
}

module "base" {
  source = "../database-base"

  identifier                 = var.identifier
  monitored                  = "RDS instance ${var.identifier}"
  engine                     = var.engine
  port                       = var.port
  security_group_id          = aws_security_group.this.id
  create_db_subnet_group     = var.create_db_subnet_group
  db_subnet_group_name       = var.db_subnet_group_name
  subnet_ids                 = var.subnet_ids
  allowed_cidr_blocks        = var.allowed_cidr_blocks
  allowed_security_group_ids = var.allowed_security_group_ids
  monitoring_interval        = var.monitoring_interval
  tags                       = var.tags
}

################################################################################
# The database
################################################################################

resource "aws_db_instance" "this" {
  identifier     = var.identifier
  engine         = var.engine
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.db_name
  port           = var.port

  # RDS generates the master password, stores it in Secrets Manager (encrypted with our key)
  # and rotates it: no password exists in variables, CI, the pull request or the state.
  username                            = var.username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_id
  iam_database_authentication_enabled = true

  storage_type          = var.storage_type
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.kms_key_id

  db_subnet_group_name   = module.base.db_subnet_group_name
  vpc_security_group_ids = concat([aws_security_group.this.id], var.vpc_security_group_ids)
  publicly_accessible    = false
  network_type           = "IPV4"
  ca_cert_identifier     = var.ca_cert_identifier
  parameter_group_name   = var.engine == "postgres" ? aws_db_parameter_group.postgres[0].name : aws_db_parameter_group.mysql[0].name
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = var.delete_automated_backups
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.identifier}-final"

  maintenance_window          = var.maintenance_window
  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = var.apply_immediately

  enabled_cloudwatch_logs_exports       = local.enabled_cloudwatch_logs_exports
  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? var.kms_key_id : null
  performance_insights_retention_period = var.performance_insights_enabled ? var.performance_insights_retention_period : null
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = module.base.monitoring_role_arn

  tags = merge(var.tags, { Name = var.identifier })
}
