# terraform test for the hardened Aurora module: plans with a mocked AWS provider (no account, no
# network), asserting on the resources a reviewer relies on, in the two shapes the environments
# use (dev: Serverless v2, one instance; prod: a writer and a reader of a provisioned class in two
# zones). Run from terraform/modules/aurora:
#   terraform init -backend=false && terraform test
mock_provider "aws" {}

# Known names at plan time, so the assertions can follow which group the cluster uses.
override_resource {
  target          = aws_rds_cluster_parameter_group.postgresql
  override_during = plan
  values = {
    name = "orders-dev-aurora-postgresql"
  }
}

override_resource {
  target          = aws_rds_cluster_parameter_group.mysql
  override_during = plan
  values = {
    name = "orders-dev-aurora-mysql"
  }
}

# What the shared part (modules/database-base) creates, known at plan time, so the assertions can
# follow it into the database.
override_resource {
  target          = module.base.aws_iam_role.monitoring
  override_during = plan
  values = {
    arn = "arn:aws:iam::111122223333:role/orders-dev-mon-1"
  }
}

override_resource {
  target          = module.base.aws_db_subnet_group.this
  override_during = plan
  values = {
    name = "orders-dev-own"
  }
}

# The module's defaults are the production-grade ones; the dev run turns them off as the dev
# policy does, the prod run relies on them.
variables {
  identifier           = "orders-dev"
  db_name              = "orders"
  engine               = "aurora-postgresql"
  engine_version       = "16"
  family               = "aurora-postgresql16"
  major_engine_version = "16"
  port                 = 5432
  kms_key_id           = "arn:aws:kms:us-east-1:111122223333:key/0d6b1c3e-9f0a-4b8e-8f6e-5a4c3b2a1f00"
  vpc_id               = "vpc-0123456789abcdef0"
  db_subnet_group_name = "rds-provisioner-dev-shared"
  availability_zones   = ["us-east-1a", "us-east-1b"]

  instance_class = "db.r6g.large"
  instance_count = 2

  allowed_cidr_blocks        = ["10.20.0.0/16"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
}

run "dev_shape_serverless_v2_postgresql_is_hardened" {
  command = plan

  variables {
    instance_class                     = "db.serverless"
    instance_count                     = 1
    serverlessv2_scaling_configuration = { min_capacity = 0.5, max_capacity = 2 }
    backup_retention_period            = 7
    deletion_protection                = false
    performance_insights_enabled       = false
    monitoring_interval                = 0
  }

  assert {
    condition     = contains([for p in aws_rds_cluster_parameter_group.postgresql[0].parameter : "${p.name}=${p.value}"], "rds.force_ssl=1")
    error_message = "The aurora-postgresql cluster parameter group must force TLS (rds.force_ssl = 1)."
  }
  assert {
    condition = length(setintersection(
      toset([for p in aws_rds_cluster_parameter_group.postgresql[0].parameter : "${p.name}=${p.value}"]),
      toset(["log_statement=ddl", "log_min_duration_statement=1000"]),
    )) == 2
    error_message = "DDL and slow statements are logged; nothing else."
  }
  assert {
    condition     = aws_rds_cluster_parameter_group.postgresql[0].family == "aurora-postgresql16" && length(aws_rds_cluster_parameter_group.mysql) == 0
    error_message = "Only the engine's own cluster parameter group exists, of the engine's family."
  }
  assert {
    condition     = aws_rds_cluster.this.db_cluster_parameter_group_name == aws_rds_cluster_parameter_group.postgresql[0].name
    error_message = "The cluster must use the TLS-enforcing group."
  }
  assert {
    condition     = aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.kms_key_id == var.kms_key_id
    error_message = "Storage must be encrypted with the given KMS key."
  }
  assert {
    condition     = aws_rds_cluster.this.manage_master_user_password && aws_rds_cluster.this.master_user_secret_kms_key_id == var.kms_key_id && aws_rds_cluster.this.master_password == null
    error_message = "RDS must manage the master password in a secret encrypted with the given key; no password may appear in the configuration."
  }
  assert {
    condition     = aws_rds_cluster.this.iam_database_authentication_enabled && aws_rds_cluster.this.copy_tags_to_snapshot
    error_message = "IAM database authentication and copying tags to snapshots must be on."
  }
  assert {
    condition     = !aws_rds_cluster.this.skip_final_snapshot && aws_rds_cluster.this.final_snapshot_identifier == "orders-dev-final"
    error_message = "Deleting the cluster must take a final snapshot named <identifier>-final."
  }
  assert {
    condition     = aws_rds_cluster.this.engine_mode == "provisioned" && one(aws_rds_cluster.this.serverlessv2_scaling_configuration).min_capacity == 0.5 && one(aws_rds_cluster.this.serverlessv2_scaling_configuration).max_capacity == 2
    error_message = "Serverless v2: a provisioned-mode cluster with the given capacity range."
  }
  assert {
    condition     = keys(aws_rds_cluster_instance.this) == ["1"] && aws_rds_cluster_instance.this["1"].instance_class == "db.serverless" && aws_rds_cluster_instance.this["1"].identifier == "orders-dev-1"
    error_message = "The dev shape is one db.serverless instance, named after the cluster."
  }
  assert {
    condition     = !aws_rds_cluster_instance.this["1"].publicly_accessible && aws_rds_cluster_instance.this["1"].auto_minor_version_upgrade && aws_rds_cluster_instance.this["1"].ca_cert_identifier == "rds-ca-rsa2048-g1"
    error_message = "Instances are never publicly accessible, take minor upgrades and present a current CA."
  }
  assert {
    condition     = aws_rds_cluster_instance.this["1"].availability_zone == "us-east-1a" && aws_rds_cluster_instance.this["1"].db_subnet_group_name == var.db_subnet_group_name
    error_message = "The single instance goes to the first zone, in the environment's subnet group."
  }
  assert {
    condition     = !aws_rds_cluster.this.deletion_protection && !aws_rds_cluster_instance.this["1"].performance_insights_enabled && aws_rds_cluster_instance.this["1"].monitoring_interval == 0
    error_message = "The cluster follows the inputs that turn deletion protection, Performance Insights and monitoring off."
  }
  assert {
    condition     = output.monitoring_role_arn == null && length(aws_backup_selection.this) == 0
    error_message = "No monitoring role without monitoring, no AWS Backup selection without a plan."
  }
  assert {
    condition     = aws_rds_cluster.this.backup_retention_period == 7 && aws_rds_cluster.this.backtrack_window == null
    error_message = "Backups are kept as asked; aurora-postgresql has no Backtrack."
  }
  assert {
    condition     = toset(aws_rds_cluster.this.enabled_cloudwatch_logs_exports) == toset(["postgresql"])
    error_message = "aurora-postgresql exports its log by default."
  }
  assert {
    condition     = aws_rds_cluster.this.db_subnet_group_name == var.db_subnet_group_name
    error_message = "The cluster goes into the given subnet group (the module creates none)."
  }
}

run "prod_shape_writer_and_reader_mysql_in_two_zones" {
  command = plan

  variables {
    engine                  = "aurora-mysql"
    engine_version          = "8.0"
    family                  = "aurora-mysql8.0"
    major_engine_version    = "8.0"
    port                    = 3306
    backup_retention_period = 30
    aws_backup = {
      plan_id      = "0b7d5a52-1c1e-4c0c-9d2c-3f0f1f7a9e01"
      iam_role_arn = "arn:aws:iam::111122223333:role/rds-provisioner-prod-backup-1"
    }
  }

  assert {
    condition = length(setintersection(
      toset([for p in aws_rds_cluster_parameter_group.mysql[0].parameter : "${p.name}=${p.value}"]),
      toset(["require_secure_transport=ON", "server_audit_logging=1", "server_audit_events=CONNECT,QUERY_DCL,QUERY_DDL", "slow_query_log=1", "log_output=FILE"]),
    )) == 5
    error_message = "The aurora-mysql cluster parameter group must force TLS and write the audit and slow query logs as files."
  }
  assert {
    condition     = length(aws_rds_cluster_parameter_group.postgresql) == 0 && aws_rds_cluster.this.db_cluster_parameter_group_name == aws_rds_cluster_parameter_group.mysql[0].name
    error_message = "An aurora-mysql cluster uses the aurora-mysql group, and only that one exists."
  }
  assert {
    condition     = toset(keys(aws_rds_cluster_instance.this)) == toset(["1", "2"]) && alltrue([for instance in values(aws_rds_cluster_instance.this) : instance.instance_class == "db.r6g.large"])
    error_message = "The prod shape is a writer and a reader of the provisioned class."
  }
  assert {
    condition     = aws_rds_cluster_instance.this["1"].availability_zone == "us-east-1a" && aws_rds_cluster_instance.this["2"].availability_zone == "us-east-1b"
    error_message = "The writer and the reader are in different zones."
  }
  assert {
    condition     = length(aws_rds_cluster.this.serverlessv2_scaling_configuration) == 0
    error_message = "A provisioned cluster has no Serverless v2 capacity range."
  }
  assert {
    condition     = aws_rds_cluster.this.deletion_protection && aws_rds_cluster.this.backup_retention_period == 30
    error_message = "Deletion protection is on by default; backups are kept as asked."
  }
  assert {
    condition = alltrue([
      for instance in values(aws_rds_cluster_instance.this) :
      instance.performance_insights_enabled && instance.performance_insights_kms_key_id == var.kms_key_id && instance.performance_insights_retention_period == 7 && instance.monitoring_interval == 60
    ])
    error_message = "Every instance has Performance Insights (encrypted with the given key) and enhanced monitoring by default."
  }
  assert {
    condition     = alltrue([for instance in values(aws_rds_cluster_instance.this) : instance.monitoring_role_arn == "arn:aws:iam::111122223333:role/orders-dev-mon-1"])
    error_message = "Every instance monitors with the role the shared part creates."
  }
  assert {
    condition     = aws_rds_cluster.this.backtrack_window == 86400
    error_message = "aurora-mysql can be rewound 24 hours by default."
  }
  assert {
    condition     = toset(aws_rds_cluster.this.enabled_cloudwatch_logs_exports) == toset(["audit", "error", "slowquery"])
    error_message = "aurora-mysql exports its audit, error and slow query logs by default."
  }
  assert {
    condition     = aws_backup_selection.this[0].plan_id == var.aws_backup.plan_id && aws_backup_selection.this[0].iam_role_arn == var.aws_backup.iam_role_arn && aws_backup_selection.this[0].name == "orders-dev"
    error_message = "Given a plan, the cluster joins the environment's AWS Backup plan."
  }
}

run "variations_zones_in_turn_io_optimized_own_subnet_group" {
  command = plan

  variables {
    instance_count         = 3
    availability_zones     = ["us-east-1b", "us-east-1a", "us-east-1b"]
    storage_type           = "aurora-iopt1"
    create_db_subnet_group = true
    db_subnet_group_name   = null
    subnet_ids             = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  }

  assert {
    condition     = [for key in ["1", "2", "3"] : aws_rds_cluster_instance.this[key].availability_zone] == ["us-east-1b", "us-east-1a", "us-east-1b"]
    error_message = "Instance n goes to the n-th distinct zone, modulo their number."
  }
  assert {
    condition     = aws_rds_cluster.this.storage_type == "aurora-iopt1"
    error_message = "I/O-Optimized storage is named when asked for."
  }
  assert {
    condition     = aws_rds_cluster.this.db_subnet_group_name == "orders-dev-own" && alltrue([for instance in values(aws_rds_cluster_instance.this) : instance.db_subnet_group_name == "orders-dev-own"])
    error_message = "create_db_subnet_group = true puts the cluster in the subnet group the shared part creates."
  }
}

run "first_cluster_beside_a_subnet_group_and_backup_plan_created_in_the_same_plan" {
  # The subnet group's name and the backup plan's id are unknown until apply: count and for_each
  # must not depend on them.
  command = plan

  module {
    source = "./tests/fixtures/created_alongside"
  }

  assert {
    condition     = output.cluster_identifier == "orders-prod" && length(output.instance_identifiers) == 2
    error_message = "The fixture plans one cluster with two instances."
  }
}

# --- what validation refuses (each listed input must fail its own validation) ---------------

run "invalid_inputs_are_refused_by_name" {
  command = plan

  variables {
    instance_class                     = "db.serverless"
    serverlessv2_scaling_configuration = { min_capacity = 0.7, max_capacity = 2 }
    availability_zones                 = ["us-east-1a", "us-east-1a"]
    backtrack_window                   = 3600
    enabled_cloudwatch_logs_exports    = ["postgresql", "upgrade"]
    parameters                         = [{ name = "rds.force_ssl", value = "0" }]
    allowed_cidr_blocks                = ["10.0.0.0/16", "0.0.0.0/0"]
    family                             = "aurora-mysql8.0"
  }

  # Capacity in half ACUs; a writer and a reader in two zones; no Backtrack for aurora-postgresql;
  # only logs the engine writes; TLS cannot be turned off; never the whole internet; the family
  # of the engine.
  expect_failures = [
    var.serverlessv2_scaling_configuration,
    var.availability_zones,
    var.backtrack_window,
    var.enabled_cloudwatch_logs_exports,
    var.parameters,
    var.allowed_cidr_blocks,
    var.family,
  ]
}

run "a_serverless_class_needs_a_capacity_range" {
  command = plan

  variables {
    instance_class = "db.serverless"
  }

  expect_failures = [var.serverlessv2_scaling_configuration]
}

run "a_capacity_range_needs_the_serverless_class" {
  command = plan

  variables {
    serverlessv2_scaling_configuration = { min_capacity = 0.5, max_capacity = 2 }
  }

  expect_failures = [var.serverlessv2_scaling_configuration]
}
