"""Adapters: the edges (DynamoDB, SNS/SQS, GitHub, local git, Secrets Manager, Slack)."""
