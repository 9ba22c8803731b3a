# What every database needs around it, whichever its kind (modules/rds, modules/aurora): the
# subnet group (unless the environment shares one), the rules of its security group, which admit
# only the given CIDR blocks and security groups on the database port, and the enhanced-monitoring
# role. The security group itself stays in the calling module, beside the database it is attached
# to: checkov judges whether a group is attached within one module (CKV2_AWS_5).

locals {
  # count and for_each read only inputs known at plan time: the environment's subnet group is
  # created in the same apply as the first database, so its name is unknown until then.
  create_monitoring_role = var.monitoring_interval > 0
}

################################################################################
# Network
################################################################################

resource "aws_db_subnet_group" "this" {
  count = var.create_db_subnet_group ? 1 : 0

  name_prefix = "${var.identifier}-"
  description = "Subnets of ${var.identifier}"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "cidr" {
  for_each = toset(var.allowed_cidr_blocks)

  security_group_id = var.security_group_id
  description       = "${var.engine} from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = var.port
  to_port           = var.port
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "security_group" {
  for_each = toset(var.allowed_security_group_ids)

  security_group_id            = var.security_group_id
  description                  = "${var.engine} from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = each.value

  tags = var.tags
}

################################################################################
# Enhanced monitoring role (only when monitoring_interval > 0)
################################################################################

data "aws_caller_identity" "current" {}

resource "aws_iam_role" "monitoring" {
  count = local.create_monitoring_role ? 1 : 0

  # A prefix keeps long identifiers inside the 64-character role name limit.
  name_prefix = "${substr(var.identifier, 0, 31)}-mon-"
  description = "Enhanced monitoring for ${var.monitored}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      # Only RDS acting for this account may assume the role (confused deputy protection).
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create_monitoring_role ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
