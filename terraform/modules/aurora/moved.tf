# These resources moved into modules/database-base (module.base): the moves keep every existing
# database's subnet group, security group rules and monitoring role as they are (no replacement).

moved {
  from = aws_db_subnet_group.this
  to   = module.base.aws_db_subnet_group.this
}

moved {
  from = aws_vpc_security_group_ingress_rule.cidr
  to   = module.base.aws_vpc_security_group_ingress_rule.cidr
}

moved {
  from = aws_vpc_security_group_ingress_rule.security_group
  to   = module.base.aws_vpc_security_group_ingress_rule.security_group
}

moved {
  from = aws_iam_role.monitoring
  to   = module.base.aws_iam_role.monitoring
}

moved {
  from = aws_iam_role_policy_attachment.monitoring
  to   = module.base.aws_iam_role_policy_attachment.monitoring
}
