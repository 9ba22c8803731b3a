locals {
  # count and for_each read only inputs known at plan time: the environment's backup plan is
  # created in the same apply as the first database, so its id is unknown until then.
  standard_log_exports = {
    aurora-mysql      = ["audit", "error", "slowquery"]
    aurora-postgresql = ["postgresql"]
  }
  enabled_cloudwatch_logs_exports = coalesce(var.enabled_cloudwatch_logs_exports, local.standard_log_exports[var.engine])

  # Backtrack rewinds an aurora-mysql cluster in place (a bad migration, a DELETE without WHERE)
  # without a restore; aurora-postgresql has no such feature.
  backtrack_window = var.engine == "aurora-mysql" ? coalesce(var.backtrack_window, 86400) : null

  # Instance n (1-based) goes to zone n modulo the number of zones: the writer and the first
  # reader never share one. The keys are known at plan time (instance_count is a plain input).
  zones = distinct(var.availability_zones)
  instances = {
    for n in range(1, var.instance_count + 1) : tostring(n) => {
      availability_zone = length(local.zones) > 0 ? local.zones[(n - 1) % length(local.zones)] : null
    }
  }

  db_subnet_group_name = module.base.db_subnet_group_name
}

################################################################################
# Cluster parameter groups: TLS for every connection, audit and slow-query logs written.
#
# One resource per engine with static parameters, of which only the requested engine's is
# created: static blocks let reviewers (and checkov) see that TLS is forced. Each family is
# derived from its own engine name, so it can never pair postgresql parameters with a mysql
# family; var.family is validated to match it. Instance-level parameters set in a cluster group
# apply to every instance whose DB parameter group leaves them at the default (these instances
# use the default DB parameter group).
################################################################################

resource "aws_rds_cluster_parameter_group" "postgresql" {
  count = var.engine == "aurora-postgresql" ? 1 : 0

  name_prefix = "${var.identifier}-"
  description = "${var.identifier}: Aurora PostgreSQL ${var.major_engine_version}, TLS required"
  family      = "aurora-postgresql${var.major_engine_version}"

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

resource "aws_rds_cluster_parameter_group" "mysql" {
  count = var.engine == "aurora-mysql" ? 1 : 0

  name_prefix = "${var.identifier}-"
  description = "${var.identifier}: Aurora MySQL ${var.major_engine_version}, TLS required"
  family      = "aurora-mysql${var.major_engine_version}"

  # Aurora MySQL takes ON/OFF here (RDS for MySQL reports the same variable as 1/0).
  parameter {
    name         = "require_secure_transport"
    value        = "ON"
    apply_method = "immediate"
  }

  # Advanced Auditing, exported as the "audit" log: who connected (and who failed to), schema
  # and privilege changes; never the statements that read or change data.
  parameter {
    name         = "server_audit_logging"
    value        = "1"
    apply_method = "immediate"
  }

  parameter {
    name         = "server_audit_events"
    value        = "CONNECT,QUERY_DCL,QUERY_DDL"
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

  # CloudWatch Logs exports read log files, not the mysql.slow_log table.
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
  monitored                  = "the instances of Aurora cluster ${var.identifier}"
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
# The cluster: storage, credentials, backups and endpoints
################################################################################

resource "aws_rds_cluster" "this" {
  cluster_identifier = var.identifier
  engine             = var.engine
  # Serverless v2 and provisioned instances both live in a provisioned-mode cluster.
  engine_mode    = "provisioned"
  engine_version = var.engine_version
  database_name  = var.db_name
  port           = var.port

  # RDS generates the master password, stores it in Secrets Manager (encrypted with our key)
  # and rotates it: no password exists in variables, CI, the pull request or the state.
  master_username                     = var.username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_id
  iam_database_authentication_enabled = true

  storage_encrypted = true
  kms_key_id        = var.kms_key_id
  # Aurora Standard is the API's default and reads back as "" (setting "aurora" would show a
  # change on every plan): only I/O-Optimized is named.
  storage_type = var.storage_type == "aurora-iopt1" ? "aurora-iopt1" : null

  db_subnet_group_name   = local.db_subnet_group_name
  vpc_security_group_ids = concat([aws_security_group.this.id], var.vpc_security_group_ids)
  network_type           = "IPV4"

  # The one group of this engine (the other has count = 0).
  db_cluster_parameter_group_name = one(concat(aws_rds_cluster_parameter_group.postgresql[*].name, aws_rds_cluster_parameter_group.mysql[*].name))

  dynamic "serverlessv2_scaling_configuration" {
    for_each = var.serverlessv2_scaling_configuration == null ? [] : [var.serverlessv2_scaling_configuration]
    content {
      min_capacity = serverlessv2_scaling_configuration.value.min_capacity
      max_capacity = serverlessv2_scaling_configuration.value.max_capacity
    }
  }

  backup_retention_period   = var.backup_retention_period
  preferred_backup_window   = var.backup_window
  backtrack_window          = local.backtrack_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = var.delete_automated_backups
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.identifier}-final"

  preferred_maintenance_window = var.maintenance_window
  allow_major_version_upgrade  = false
  apply_immediately            = var.apply_immediately

  enabled_cloudwatch_logs_exports = local.enabled_cloudwatch_logs_exports

  tags = merge(var.tags, { Name = var.identifier })
}

################################################################################
# Instances: a writer, and readers Aurora can fail over to, each in its own zone in turn
################################################################################

resource "aws_rds_cluster_instance" "this" {
  for_each = local.instances

  identifier         = "${var.identifier}-${each.key}"
  cluster_identifier = aws_rds_cluster.this.id
  # No engine_version: an instance runs its cluster's version (upgrades go through the cluster).
  engine         = aws_rds_cluster.this.engine
  instance_class = var.instance_class

  availability_zone    = each.value.availability_zone
  db_subnet_group_name = local.db_subnet_group_name
  publicly_accessible  = false
  ca_cert_identifier   = var.ca_cert_identifier

  auto_minor_version_upgrade   = true
  copy_tags_to_snapshot        = true
  preferred_maintenance_window = var.maintenance_window
  apply_immediately            = var.apply_immediately

  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? var.kms_key_id : null
  performance_insights_retention_period = var.performance_insights_enabled ? var.performance_insights_retention_period : null
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = module.base.monitoring_role_arn

  tags = merge(var.tags, { Name = "${var.identifier}-${each.key}" })

  lifecycle {
    # The zone matters when an instance is created. If the environment's zones change later
    # (a subnet added), moving a running instance would mean replacing it: leave it where it is.
    ignore_changes = [availability_zone]
  }
}

################################################################################
# AWS Backup: backups kept in the environment's vault, beyond the cluster's own lifetime
################################################################################

resource "aws_backup_selection" "this" {
  count = var.aws_backup != null ? 1 : 0

  # Selection names are limited to 50 characters; identifiers are unique well before that.
  name         = substr(var.identifier, 0, 50)
  plan_id      = var.aws_backup.plan_id
  iam_role_arn = var.aws_backup.iam_role_arn
  resources    = [aws_rds_cluster.this.arn]
}
