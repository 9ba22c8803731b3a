# Variable names follow terraform-aws-modules/terraform-aws-rds so the call sites read familiar.
# Defaults are the production-grade choice: an environment opts out explicitly (and visibly, in
# the generated pull request), never in by remembering to.

################################################################################
# Identity and engine
################################################################################

variable "identifier" {
  description = "RDS DB instance identifier (<database_name with _ as ->-<environment>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z](?:[a-z0-9]|-[a-z0-9]){0,62}$", var.identifier))
    error_message = "identifier must start with a lowercase letter, contain only lowercase letters, digits and single hyphens, not end with a hyphen, and be at most 63 characters."
  }
}

variable "engine" {
  description = "Database engine: mysql or postgres."
  type        = string

  validation {
    condition     = contains(["mysql", "postgres"], var.engine)
    error_message = "engine must be mysql or postgres."
  }
}

variable "engine_version" {
  description = "Engine version. A major version (\"16\", \"8.4\") lets RDS pick the newest minor and auto_minor_version_upgrade keep it current."
  type        = string
}

variable "family" {
  description = "DB parameter group family: the engine followed by its major version (postgres16, mysql8.4)."
  type        = string

  validation {
    condition     = var.family == "${var.engine}${var.major_engine_version}"
    error_message = "family must be the engine followed by major_engine_version (postgres16, mysql8.4)."
  }
}

variable "major_engine_version" {
  description = "Major engine version (\"16\", \"8.4\"); used to name the parameter group and in tags."
  type        = string
}

variable "instance_class" {
  description = "Instance class, for example db.t3.micro."
  type        = string

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.<family>.<size>, for example db.t3.micro."
  }
}

variable "db_name" {
  description = "Name of the database created inside the engine."
  type        = string

  validation {
    condition     = can(regex("^[a-z](?:[a-z0-9]|_[a-z0-9]){0,49}$", var.db_name))
    error_message = "db_name must start with a lowercase letter and contain only lowercase letters, digits and single underscores (at most 50 characters, no trailing underscore)."
  }
}

variable "username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; it never appears in Terraform."
  type        = string
  default     = "dbadmin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.username)) && !contains(["admin", "rdsadmin", "postgres", "root", "mysql"], var.username)
    error_message = "username must be 1-16 lowercase letters, digits or underscores, start with a letter, and not be a name the engine or RDS reserves."
  }
}

variable "port" {
  description = "Port the database listens on."
  type        = number

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535 (RDS rejects lower ports)."
  }
}

################################################################################
# Storage and encryption
################################################################################

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3 needs at least 20)."
  type        = number

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Ceiling in GiB for storage autoscaling; must be above allocated_storage."
  type        = number

  validation {
    condition     = var.max_allocated_storage > var.allocated_storage && var.max_allocated_storage <= 65536
    error_message = "max_allocated_storage must be greater than allocated_storage (autoscaling stays on) and at most 65536 GiB."
  }
}

variable "storage_type" {
  description = "Storage type. gp3 gives baseline IOPS/throughput independent of size."
  type        = string
  default     = "gp3"

  validation {
    condition     = contains(["gp3", "io2"], var.storage_type)
    error_message = "storage_type must be gp3 or io2."
  }
}

variable "kms_key_id" {
  description = "ARN of the customer managed KMS key that encrypts storage, snapshots, Performance Insights and the master user secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "kms_key_id must be a KMS key ARN."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC the database and its security group live in."
  type        = string
}

variable "create_db_subnet_group" {
  description = "Create a subnet group for this instance from subnet_ids. false (the default) places it in db_subnet_group_name, usually the environment's shared group. A plain input, so the count it decides is known at plan time even when the group's name is not."
  type        = bool
  default     = false
  nullable    = false
}

variable "db_subnet_group_name" {
  description = "Existing DB subnet group (usually the environment's shared one); required unless create_db_subnet_group is true, null when it is."
  type        = string
  default     = null

  validation {
    # An unknown name (a group created in the same apply) is not null: the check waits for apply.
    condition     = var.create_db_subnet_group == (var.db_subnet_group_name == null)
    error_message = "Give db_subnet_group_name, or set create_db_subnet_group = true with subnet_ids (not both)."
  }
}

variable "subnet_ids" {
  description = "Private subnets (at least two AZs) for the subnet group created when create_db_subnet_group is true."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = var.create_db_subnet_group ? length(var.subnet_ids) >= 2 : length(var.subnet_ids) == 0
    error_message = "subnet_ids needs at least two subnets when create_db_subnet_group is true, and must be empty otherwise."
  }
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to connect on the database port."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidr_blocks : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "allowed_cidr_blocks must be valid CIDR blocks and never the whole internet (/0)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (application tiers) allowed to connect on the database port."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Extra existing security groups to attach besides the one this module creates."
  type        = list(string)
  default     = []
}

################################################################################
# Availability, backups and lifecycle
################################################################################

variable "multi_az" {
  description = "Run a synchronous standby in another AZ."
  type        = bool
  default     = true
}

variable "backup_retention_period" {
  description = "Days automated backups are kept (1-35; 0 would disable backups and is not allowed)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days."
  }
}

variable "backup_window" {
  description = "Daily UTC backup window (hh24:mi-hh24:mi); null lets RDS choose."
  type        = string
  default     = null
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi); null lets RDS choose."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is turned off."
  type        = bool
  default     = true
}

variable "delete_automated_backups" {
  description = "Delete automated backups when the instance is deleted (false keeps them until they expire)."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Apply modifications now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "ca_cert_identifier" {
  description = "Certificate authority of the server certificate clients verify."
  type        = string
  default     = "rds-ca-rsa2048-g1"

  validation {
    condition     = contains(["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"], var.ca_cert_identifier)
    error_message = "ca_cert_identifier must be one of the current RDS CAs (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1)."
  }
}

################################################################################
# Observability
################################################################################

variable "performance_insights_enabled" {
  description = "Turn on Performance Insights (encrypted with kms_key_id)."
  type        = bool
  default     = true
}

variable "performance_insights_retention_period" {
  description = "Days Performance Insights data is kept: 7 (free tier) or a multiple of 31 up to 731."
  type        = number
  default     = 7

  validation {
    condition     = var.performance_insights_retention_period == 7 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period <= 731)
    error_message = "performance_insights_retention_period must be 7 or a multiple of 31 up to 731."
  }
}

variable "monitoring_interval" {
  description = "Seconds between enhanced monitoring samples; 0 turns it off. When above 0 the module creates the monitoring IAM role."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "enabled_cloudwatch_logs_exports" {
  description = "Engine logs exported to CloudWatch Logs (mysql: error, general, slowquery, audit, iam-db-auth-error; postgres: postgresql, upgrade, iam-db-auth-error). null exports the engine's standard set (mysql: error, slowquery; postgres: postgresql, upgrade)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.enabled_cloudwatch_logs_exports == null || length(coalesce(var.enabled_cloudwatch_logs_exports, [])) > 0
    error_message = "Export at least one log to CloudWatch Logs (or leave null for the engine's standard set)."
  }
}

variable "parameters" {
  description = "Extra DB parameters, added to the ones this module always sets (TLS and logging)."
  type = list(object({
    name         = string
    value        = string
    apply_method = optional(string, "pending-reboot")
  }))
  default = []
}

variable "tags" {
  description = "Tags for every resource (the provider adds ManagedBy and Environment as default tags)."
  type        = map(string)
  default     = {}
}
