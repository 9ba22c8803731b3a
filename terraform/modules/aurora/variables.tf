# The Aurora sibling of modules/rds: the same names wherever the meaning is the same (so the
# renderer fills both from one environment policy), Aurora's own where it differs (instance_count,
# serverlessv2_scaling_configuration, availability_zones, backtrack_window, aws_backup).
# Defaults are the production-grade choice: an environment opts out explicitly (and visibly, in
# the generated pull request), never in by remembering to.

################################################################################
# Identity and engine
################################################################################

variable "identifier" {
  description = "Aurora DB cluster identifier (<database_name with _ as ->-<environment>). Its instances are named <identifier>-1, <identifier>-2, ..."
  type        = string

  validation {
    # 60, not 63: the instance identifiers add "-<n>" and must stay within RDS's 63 characters.
    condition     = can(regex("^[a-z](?:[a-z0-9]|-[a-z0-9]){0,59}$", var.identifier))
    error_message = "identifier must start with a lowercase letter, contain only lowercase letters, digits and single hyphens, not end with a hyphen, and be at most 60 characters."
  }
}

variable "engine" {
  description = "Aurora engine: aurora-mysql or aurora-postgresql."
  type        = string

  validation {
    condition     = contains(["aurora-mysql", "aurora-postgresql"], var.engine)
    error_message = "engine must be aurora-mysql or aurora-postgresql."
  }
}

variable "engine_version" {
  description = "Engine version. A major version (\"8.0\" for aurora-mysql, \"16\" for aurora-postgresql) lets Aurora pick its default minor and auto minor version upgrades keep it current; the provider does not report the newer minor as a change."
  type        = string
}

variable "family" {
  description = "DB cluster parameter group family: the engine followed by its major version (aurora-mysql8.0, aurora-postgresql16)."
  type        = string

  validation {
    condition     = var.family == "${var.engine}${var.major_engine_version}"
    error_message = "family must be the engine followed by major_engine_version (aurora-mysql8.0, aurora-postgresql16)."
  }
}

variable "major_engine_version" {
  description = "Major engine version (\"8.0\", \"16\"); names the parameter group family."
  type        = string
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
  description = "Port the cluster listens on."
  type        = number

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535 (RDS rejects lower ports)."
  }
}

################################################################################
# Topology and capacity
################################################################################

variable "instance_class" {
  description = "Class of every instance: db.serverless for Aurora Serverless v2 (then serverlessv2_scaling_configuration sets the capacity), or a provisioned class such as db.r6g.large."
  type        = string

  validation {
    condition     = can(regex("^db\\.(serverless|[a-z0-9]+\\.[a-z0-9]+)$", var.instance_class))
    error_message = "instance_class must be db.serverless or look like db.<family>.<size>, for example db.r6g.large."
  }
}

variable "instance_count" {
  description = "Number of instances: 1 is a writer alone; 2 or more are a writer and readers, one per availability zone in turn (see availability_zones). Aurora fails over to a reader."
  type        = number
  default     = 2

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 16 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 16 (a writer and up to 15 readers)."
  }
}

variable "serverlessv2_scaling_configuration" {
  description = "Aurora Serverless v2 capacity range in ACUs (1 ACU is about 2 GiB of memory), required with instance_class = db.serverless and not allowed otherwise. A minimum of 0 pauses an idle cluster (engine versions that support it)."
  type = object({
    min_capacity = number
    max_capacity = number
  })
  default = null

  validation {
    condition     = (var.instance_class == "db.serverless") == (var.serverlessv2_scaling_configuration != null)
    error_message = "serverlessv2_scaling_configuration is required with instance_class = db.serverless, and only then."
  }

  validation {
    condition = var.serverlessv2_scaling_configuration == null ? true : (
      var.serverlessv2_scaling_configuration.min_capacity >= 0 &&
      var.serverlessv2_scaling_configuration.max_capacity >= 1 &&
      var.serverlessv2_scaling_configuration.max_capacity <= 256 &&
      var.serverlessv2_scaling_configuration.min_capacity <= var.serverlessv2_scaling_configuration.max_capacity &&
      floor(var.serverlessv2_scaling_configuration.min_capacity * 2) == var.serverlessv2_scaling_configuration.min_capacity * 2 &&
      floor(var.serverlessv2_scaling_configuration.max_capacity * 2) == var.serverlessv2_scaling_configuration.max_capacity * 2
    )
    error_message = "Capacity is in steps of 0.5 ACU: min_capacity from 0, max_capacity from 1 to 256, and min_capacity <= max_capacity."
  }
}

variable "availability_zones" {
  description = "Availability zones of the subnet group (usually the environment's, modules/environment output availability_zones). Instance n goes to zone n modulo their number, so a writer and a reader never share a zone. Required (two distinct zones at least) when instance_count is 2 or more; empty lets RDS place a single instance."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = var.instance_count < 2 || length(distinct(var.availability_zones)) >= 2
    error_message = "A writer and readers need availability_zones with at least two distinct zones, so no reader shares the writer's zone."
  }
}

variable "storage_type" {
  description = "Aurora storage configuration: aurora (Aurora Standard: storage plus I/O requests billed) or aurora-iopt1 (I/O-Optimized: no I/O charges, higher instance and storage prices)."
  type        = string
  default     = "aurora"

  validation {
    condition     = contains(["aurora", "aurora-iopt1"], var.storage_type)
    error_message = "storage_type must be aurora or aurora-iopt1."
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
  description = "VPC the cluster and its security group live in."
  type        = string
}

variable "create_db_subnet_group" {
  description = "Create a subnet group for this cluster from subnet_ids. false (the default) places it in db_subnet_group_name, usually the environment's shared group. A plain input, so the count it decides is known at plan time even when the group's name is not."
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
  description = "CIDR blocks allowed to connect on the cluster port."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidr_blocks : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "allowed_cidr_blocks must be valid CIDR blocks and never the whole internet (/0)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (application tiers) allowed to connect on the cluster port."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Extra existing security groups to attach besides the one this module creates."
  type        = list(string)
  default     = []
}

################################################################################
# Backups and lifecycle
################################################################################

variable "backup_retention_period" {
  description = "Days Aurora keeps its continuous backups (point-in-time restore), 1-35."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days."
  }
}

variable "backup_window" {
  description = "Daily UTC window for the automated backup snapshot (hh24:mi-hh24:mi); null lets RDS choose."
  type        = string
  default     = null
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window of the cluster and its instances (ddd:hh24:mi-ddd:hh24:mi); null lets RDS choose."
  type        = string
  default     = null
}

variable "backtrack_window" {
  description = "Seconds an aurora-mysql cluster can be rewound in place (0-259200; 0 turns Backtrack off, and it can only be turned on when the cluster is created). null means 86400 (24 hours) for aurora-mysql; aurora-postgresql has no Backtrack and takes only null or 0."
  type        = number
  default     = null

  validation {
    condition     = var.backtrack_window == null ? true : var.backtrack_window >= 0 && var.backtrack_window <= 259200 && (var.engine == "aurora-mysql" || var.backtrack_window == 0)
    error_message = "backtrack_window must be between 0 and 259200 seconds, and 0 (or null) for aurora-postgresql."
  }
}

variable "aws_backup" {
  description = "AWS Backup plan (and the IAM role AWS Backup assumes) that also backs the cluster up, outside its own lifecycle (modules/environment outputs aws_backup). null adds it to no plan. An object, so the selection it decides is known at plan time even when the plan's id is not."
  type = object({
    plan_id      = string
    iam_role_arn = string
  })
  default = null
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster until this is turned off."
  type        = bool
  default     = true
}

variable "delete_automated_backups" {
  description = "Delete automated backups when the cluster is deleted (false keeps them until they expire)."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Apply modifications now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "ca_cert_identifier" {
  description = "Certificate authority of the server certificate clients verify (set on every instance)."
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
  description = "Turn on Performance Insights on every instance (encrypted with kms_key_id)."
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
  description = "Seconds between enhanced monitoring samples of every instance; 0 turns it off. When above 0 the module creates the monitoring IAM role."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "enabled_cloudwatch_logs_exports" {
  description = "Logs exported to CloudWatch Logs (aurora-mysql: audit, error, general, slowquery, iam-db-auth-error; aurora-postgresql: postgresql, iam-db-auth-error). null exports the engine's standard set (aurora-mysql: audit, error, slowquery; aurora-postgresql: postgresql)."
  type        = list(string)
  default     = null

  validation {
    condition = var.enabled_cloudwatch_logs_exports == null ? true : length(var.enabled_cloudwatch_logs_exports) > 0 && alltrue([
      for log in var.enabled_cloudwatch_logs_exports : contains(
        var.engine == "aurora-mysql" ? ["audit", "error", "general", "slowquery", "iam-db-auth-error"] : ["postgresql", "iam-db-auth-error"],
        log
      )
    ])
    error_message = "Export at least one log the engine writes (aurora-mysql: audit, error, general, slowquery, iam-db-auth-error; aurora-postgresql: postgresql, iam-db-auth-error), or leave null for the standard set."
  }
}

variable "parameters" {
  description = "Extra DB cluster parameters, added to the ones this module always sets (TLS, auditing and logging)."
  type = list(object({
    name         = string
    value        = string
    apply_method = optional(string, "pending-reboot")
  }))
  default = []

  validation {
    # A second value for one of these would race the module's own (TLS, auditing) in one group.
    condition = alltrue([for parameter in var.parameters : !contains([
      "require_secure_transport", "server_audit_logging", "server_audit_events", "slow_query_log", "long_query_time", "log_output",
      "rds.force_ssl", "log_statement", "log_min_duration_statement",
    ], parameter.name)])
    error_message = "parameters may not set what the module sets itself (TLS, auditing and logging parameters)."
  }
}

variable "tags" {
  description = "Tags for every resource (the provider adds ManagedBy and Environment as default tags)."
  type        = map(string)
  default     = {}
}
