"""Services: what the product does (intake, provisioning, lifecycle, notifications)."""
