# terraform test for what every database of an environment shares: plans with a mocked AWS
# provider (no account, no network). Run from terraform/modules/environment:
#   terraform init -backend=false && terraform test
mock_provider "aws" {}

# The zones the subnets are in: what the real provider reads at plan time.
override_data {
  target          = data.aws_subnet.database["subnet-0123456789abcdef0"]
  override_during = plan
  values = {
    availability_zone = "us-east-1b"
  }
}

override_data {
  target          = data.aws_subnet.database["subnet-0123456789abcdef1"]
  override_during = plan
  values = {
    availability_zone = "us-east-1a"
  }
}

variables {
  environment         = "dev"
  database_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
}

run "creates_a_rotating_key_and_one_subnet_group" {
  command = plan

  assert {
    condition     = length(aws_kms_key.databases) == 1 && aws_kms_key.databases[0].enable_key_rotation
    error_message = "Without kms_key_arn the environment gets its own key, with rotation on."
  }
  assert {
    condition     = aws_kms_alias.databases[0].name == "alias/rds-provisioner-dev"
    error_message = "The key's alias names the environment."
  }
  assert {
    condition     = startswith(aws_db_subnet_group.databases.name_prefix, "rds-provisioner-dev-") && toset(aws_db_subnet_group.databases.subnet_ids) == toset(var.database_subnet_ids)
    error_message = "One subnet group per environment, from the given subnets."
  }
  assert {
    condition     = output.availability_zones == tolist(["us-east-1a", "us-east-1b"])
    error_message = "The subnets' zones, sorted, are what Aurora clusters spread their instances over."
  }
  assert {
    condition     = aws_backup_vault.databases.name == "rds-provisioner-dev"
    error_message = "One backup vault per environment."
  }
  assert {
    condition     = one(aws_backup_plan.databases.rule).target_vault_name == aws_backup_vault.databases.name && one(one(aws_backup_plan.databases.rule).lifecycle).delete_after == 35
    error_message = "The daily plan keeps recovery points in the environment's vault for 35 days by default."
  }
  assert {
    condition     = jsondecode(aws_iam_role.backup.assume_role_policy).Statement[0].Principal.Service == "backup.amazonaws.com" && aws_iam_role_policy_attachment.backup.policy_arn == "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
    error_message = "Only AWS Backup assumes the backup role, which has the AWS managed backup policy."
  }
}

run "subnets_in_one_zone_are_refused" {
  command = plan

  override_data {
    target          = data.aws_subnet.database["subnet-0123456789abcdef0"]
    override_during = plan
    values = {
      availability_zone = "us-east-1a"
    }
  }

  expect_failures = [aws_db_subnet_group.databases]
}

run "an_existing_key_is_used_as_is" {
  command = plan

  variables {
    environment = "prod"
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/0d6b1c3e-9f0a-4b8e-8f6e-5a4c3b2a1f00"
  }

  assert {
    condition     = length(aws_kms_key.databases) == 0 && length(aws_kms_alias.databases) == 0
    error_message = "Given kms_key_arn, the module creates no key."
  }
  assert {
    condition     = output.kms_key_arn == var.kms_key_arn
    error_message = "The databases are encrypted with the given key."
  }
  assert {
    condition     = aws_backup_vault.databases.kms_key_arn == var.kms_key_arn
    error_message = "The environment's backup vault is encrypted with the environment's key."
  }
}

run "only_names_the_environments_file_accepts" {
  command = plan

  variables {
    environment = "Staging-1"
  }

  expect_failures = [var.environment]
}

run "subnets_in_two_zones_at_least" {
  command = plan

  variables {
    database_subnet_ids = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [var.database_subnet_ids]
}
