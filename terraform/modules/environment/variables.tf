variable "environment" {
  description = "The environment these databases belong to (dev or prod)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
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
