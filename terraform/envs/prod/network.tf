# One subnet group shared by every prod database: RDS allows only 50 subnet groups per region,
# so a group per database would cap the number of databases.
resource "aws_db_subnet_group" "databases" {
  name_prefix = "rds-provisioner-prod-"
  description = "Private subnets of the prod databases managed by rds-provisioner"
  subnet_ids  = var.database_subnet_ids
}
