# terraform test for what every database module shares: plans with a mocked AWS provider (no
# account, no network). Run from terraform/modules/database-base:
#   terraform init -backend=false && terraform test
mock_provider "aws" {}

# Known values at plan time, so the assertions can follow what the outputs hand on.
override_resource {
  target          = aws_iam_role.monitoring
  override_during = plan
  values = {
    arn = "arn:aws:iam::111122223333:role/orders-dev-mon-1"
  }
}

override_resource {
  target          = aws_db_subnet_group.this
  override_during = plan
  values = {
    name = "orders-dev-own"
  }
}

variables {
  identifier                 = "orders-dev"
  monitored                  = "RDS instance orders-dev"
  engine                     = "postgres"
  port                       = 5432
  security_group_id          = "sg-0fedcba9876543210"
  create_db_subnet_group     = false
  db_subnet_group_name       = "rds-provisioner-dev-shared"
  subnet_ids                 = []
  allowed_cidr_blocks        = ["10.20.0.0/16"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
  monitoring_interval        = 60
  tags                       = { Team = "payments" }
}

run "shared_subnet_group_ingress_on_the_port_only_and_monitoring" {
  command = plan

  assert {
    condition     = length(aws_db_subnet_group.this) == 0 && output.db_subnet_group_name == var.db_subnet_group_name
    error_message = "Without create_db_subnet_group the database goes into the given subnet group and none is created."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.cidr) == 1 && length(aws_vpc_security_group_ingress_rule.security_group) == 1
    error_message = "One ingress rule per allowed CIDR block and per allowed security group."
  }
  assert {
    condition = alltrue([
      for rule in concat(values(aws_vpc_security_group_ingress_rule.cidr), values(aws_vpc_security_group_ingress_rule.security_group)) :
      rule.security_group_id == var.security_group_id && rule.ip_protocol == "tcp" && rule.from_port == 5432 && rule.to_port == 5432 && startswith(rule.description, "postgres from ")
    ])
    error_message = "Ingress is TCP on the database port only."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.monitoring[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    error_message = "monitoring_interval > 0 creates the monitoring role with the AWS managed policy."
  }
  assert {
    condition     = aws_iam_role.monitoring[0].description == "Enhanced monitoring for RDS instance orders-dev" && jsondecode(aws_iam_role.monitoring[0].assume_role_policy).Statement[0].Principal.Service == "monitoring.rds.amazonaws.com"
    error_message = "The role says what it monitors, and only RDS monitoring may assume it."
  }
  assert {
    condition     = output.monitoring_role_arn == "arn:aws:iam::111122223333:role/orders-dev-mon-1"
    error_message = "The role is handed on to the database."
  }
}

run "own_subnet_group_no_monitoring_mysql" {
  command = plan

  variables {
    create_db_subnet_group = true
    db_subnet_group_name   = null
    subnet_ids             = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    engine                 = "mysql"
    port                   = 3306
    monitoring_interval    = 0
  }

  assert {
    condition     = toset(aws_db_subnet_group.this[0].subnet_ids) == toset(var.subnet_ids) && output.db_subnet_group_name == "orders-dev-own"
    error_message = "create_db_subnet_group = true creates one subnet group from subnet_ids, and the database goes in it."
  }
  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && length(aws_iam_role_policy_attachment.monitoring) == 0 && output.monitoring_role_arn == null
    error_message = "monitoring_interval = 0 creates no role."
  }
  assert {
    condition     = alltrue([for rule in values(aws_vpc_security_group_ingress_rule.cidr) : rule.from_port == 3306 && rule.to_port == 3306])
    error_message = "Ingress follows the engine's port."
  }
}
