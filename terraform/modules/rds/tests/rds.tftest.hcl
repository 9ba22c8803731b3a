# terraform test for the hardened module: plans with a mocked AWS provider (no account, no
# network), asserting on the resources a reviewer relies on. Run from terraform/modules/rds:
#   terraform init -backend=false && terraform test
mock_provider "aws" {}

# Known names at plan time, so the assertions can follow which group the instance uses.
override_resource {
  target          = aws_db_parameter_group.postgres
  override_during = plan
  values = {
    name = "orders-dev-postgres"
  }
}

override_resource {
  target          = aws_db_parameter_group.mysql
  override_during = plan
  values = {
    name = "orders-dev-mysql"
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

variables {
  identifier            = "orders-dev"
  db_name               = "orders"
  engine                = "postgres"
  engine_version        = "16"
  family                = "postgres16"
  major_engine_version  = "16"
  port                  = 5432
  instance_class        = "db.t3.micro"
  allocated_storage     = 20
  max_allocated_storage = 100
  kms_key_id            = "arn:aws:kms:us-east-1:111122223333:key/0d6b1c3e-9f0a-4b8e-8f6e-5a4c3b2a1f00"
  vpc_id                = "vpc-0123456789abcdef0"
  db_subnet_group_name  = "rds-provisioner-dev-shared"

  allowed_cidr_blocks        = ["10.20.0.0/16"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
}

run "postgres_in_the_shared_group_is_hardened" {
  command = plan

  assert {
    condition     = contains([for p in aws_db_parameter_group.postgres[0].parameter : "${p.name}=${p.value}"], "rds.force_ssl=1")
    error_message = "The postgres parameter group must force TLS (rds.force_ssl = 1)."
  }
  assert {
    condition     = length(aws_db_parameter_group.mysql) == 0 && aws_db_instance.this.parameter_group_name == aws_db_parameter_group.postgres[0].name
    error_message = "A postgres instance must use the postgres parameter group, and only that one may exist."
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_id
    error_message = "Storage must be encrypted with the given KMS key."
  }
  assert {
    condition     = !aws_db_instance.this.publicly_accessible
    error_message = "The instance must never be publicly accessible."
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null
    error_message = "RDS must manage the master password; no password may appear in the configuration."
  }
  assert {
    condition     = aws_db_instance.this.iam_database_authentication_enabled && aws_db_instance.this.copy_tags_to_snapshot
    error_message = "IAM database authentication and copying tags to snapshots must be on."
  }
  assert {
    condition     = !aws_db_instance.this.skip_final_snapshot && aws_db_instance.this.final_snapshot_identifier == "orders-dev-final"
    error_message = "Deleting the instance must take a final snapshot."
  }
  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection && aws_db_instance.this.performance_insights_enabled
    error_message = "The module's defaults are the production-grade ones (Multi-AZ, deletion protection, Performance Insights)."
  }
  assert {
    condition     = aws_db_instance.this.db_subnet_group_name == var.db_subnet_group_name
    error_message = "Without create_db_subnet_group the instance goes into the given subnet group and the module creates none."
  }
  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["postgresql", "upgrade"])
    error_message = "postgres exports its standard logs by default."
  }
  assert {
    condition     = aws_db_instance.this.monitoring_interval == 60 && aws_db_instance.this.monitoring_role_arn == "arn:aws:iam::111122223333:role/orders-dev-mon-1"
    error_message = "monitoring_interval > 0 (60 s by default) monitors with the role the shared part creates."
  }
}

run "mysql_without_monitoring_forces_tls_and_writes_log_files" {
  command = plan

  variables {
    engine                       = "mysql"
    engine_version               = "8.4"
    family                       = "mysql8.4"
    major_engine_version         = "8.4"
    port                         = 3306
    monitoring_interval          = 0
    performance_insights_enabled = false
  }

  assert {
    condition     = contains([for p in aws_db_parameter_group.mysql[0].parameter : "${p.name}=${p.value}"], "require_secure_transport=1")
    error_message = "The mysql parameter group must force TLS (require_secure_transport = 1)."
  }
  assert {
    condition     = contains([for p in aws_db_parameter_group.mysql[0].parameter : "${p.name}=${p.value}"], "log_output=FILE")
    error_message = "CloudWatch log exports read files: log_output must be FILE."
  }
  assert {
    condition     = length(aws_db_parameter_group.postgres) == 0 && aws_db_instance.this.parameter_group_name == aws_db_parameter_group.mysql[0].name
    error_message = "A mysql instance must use the mysql parameter group, and only that one may exist."
  }
  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["error", "slowquery"])
    error_message = "mysql exports its standard logs by default."
  }
  assert {
    condition     = output.monitoring_role_arn == null
    error_message = "monitoring_interval = 0 creates no role."
  }
  assert {
    condition     = aws_db_instance.this.monitoring_interval == 0 && !aws_db_instance.this.performance_insights_enabled
    error_message = "The instance follows the inputs that turn both off."
  }
}

run "first_database_beside_a_subnet_group_created_in_the_same_plan" {
  # The subnet group's name is unknown until apply: count must not depend on it.
  command = plan

  module {
    source = "./tests/fixtures/group_created_alongside"
  }

  assert {
    condition     = output.db_instance_identifier == "orders-dev"
    error_message = "The fixture plans one instance."
  }
}

run "own_subnet_group_on_request" {
  command = plan

  variables {
    create_db_subnet_group = true
    db_subnet_group_name   = null
    subnet_ids             = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  }

  assert {
    condition     = aws_db_instance.this.db_subnet_group_name == "orders-dev-own"
    error_message = "create_db_subnet_group = true puts the instance in the subnet group the shared part creates."
  }
}

run "a_subnet_group_name_and_its_own_group_are_exclusive" {
  command = plan

  variables {
    create_db_subnet_group = true
    subnet_ids             = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  }

  expect_failures = [var.db_subnet_group_name]
}

run "subnet_ids_need_create_db_subnet_group" {
  command = plan

  variables {
    subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  }

  expect_failures = [var.subnet_ids]
}

run "the_whole_internet_is_refused" {
  command = plan

  variables {
    allowed_cidr_blocks = ["10.0.0.0/16", "0.0.0.0/0"]
  }

  expect_failures = [var.allowed_cidr_blocks]
}

run "family_must_match_the_engine" {
  command = plan

  variables {
    family = "mysql8.4"
  }

  expect_failures = [var.family]
}
