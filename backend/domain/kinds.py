"""The closed sets of values a request names: engines, environments, where it came from (pure)."""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    MYSQL = "mysql"
    POSTGRES = "postgres"


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class Source(StrEnum):
    SLACK = "slack"
    API = "api"
    # The sweeper (a dev database's expiry asks for its decommission).
    SCHEDULE = "schedule"
