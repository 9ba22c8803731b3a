# The calling module (modules/rds, modules/aurora) validates these inputs; they arrive here as
# its own variables.

variable "identifier" {
  description = "The database's identifier (an RDS instance or an Aurora cluster): names and describes what is created here."
  type        = string
}

variable "monitored" {
  description = "What the monitoring role monitors, as its description reads (\"RDS instance orders-dev\")."
  type        = string
}

variable "engine" {
  description = "The database's engine, named in the ingress rules' descriptions."
  type        = string
}

variable "port" {
  description = "The database port, the only one the security group admits."
  type        = number
}

variable "security_group_id" {
  description = "The database's security group, which the ingress rules are added to."
  type        = string
}

variable "create_db_subnet_group" {
  description = "Create a subnet group from subnet_ids; false uses db_subnet_group_name."
  type        = bool
}

variable "db_subnet_group_name" {
  description = "Existing DB subnet group, when create_db_subnet_group is false."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the subnet group created when create_db_subnet_group is true."
  type        = list(string)
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to connect on the database port."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the database port."
  type        = list(string)
}

variable "monitoring_interval" {
  description = "Seconds between enhanced monitoring samples; above 0 creates the monitoring role."
  type        = number
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
