# Written by `rdsctl new-environment` from terraform/root/variables.tf.j2, the root every environment shares:
# change it there and rewrite each environment (docs/environments.md).
# The network the dev databases live in. Values come from terraform.tfvars (or TF_VAR_* in CI);
# each generated rds_<name>.tf only references these, so one change here moves every database.

variable "aws_region" {
  # deploy/settings.env AWS_REGION is the source; CI passes it as TF_VAR_aws_region.
  description = "Region of the dev databases."
  type        = string
  default     = "us-east-1"
}

variable "repository" {
  description = "Repository holding this configuration, written to the Repository default tag."
  type        = string
  default     = "rds-provisioner"
}

variable "vpc_id" {
  description = "VPC of the dev databases."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "database_subnet_ids" {
  description = "Private subnets for the databases, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.database_subnet_ids) >= 2 && alltrue([for id in var.database_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "database_subnet_ids must hold at least two subnet ids (subnet-...) in different availability zones."
  }
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks (application subnets, VPN) allowed to reach the databases on their port."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidr_blocks : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "allowed_cidr_blocks must be valid CIDR blocks and never the whole internet (/0)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (application tiers) allowed to reach the databases on their port."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Existing customer managed KMS key for the dev databases; null creates one (modules/environment)."
  type        = string
  default     = null
}
