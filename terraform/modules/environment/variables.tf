variable "environment" {
  description = "The environment these databases belong to: a name of deploy/environments.toml (dev, prod, ...)."
  type        = string

  validation {
    # The names the environments file accepts: part of every resource name here and of the
    # databases' identifiers.
    condition     = can(regex("^[a-z][a-z0-9]{0,15}$", var.environment))
    error_message = "environment must be a lowercase letter, then at most 15 lowercase letters and digits."
  }
}

variable "database_subnet_ids" {
  description = "Private subnets (at least two Availability Zones) the databases are placed in."
  type        = list(string)

  validation {
    condition     = length(var.database_subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two Availability Zones."
  }
}

variable "kms_key_arn" {
  description = "Existing customer managed KMS key for the databases; null creates one."
  type        = string
  default     = null
}

variable "aws_backup_retention_days" {
  description = "Days the environment's AWS Backup plan keeps each daily recovery point."
  type        = number
  default     = 35

  validation {
    condition     = var.aws_backup_retention_days >= 1 && floor(var.aws_backup_retention_days) == var.aws_backup_retention_days
    error_message = "aws_backup_retention_days must be a whole number of days, at least 1."
  }
}
