"""The closed sets of values a request names: engines, where it came from (pure). Environments are
configuration: ``backend.domain.policy``."""

from __future__ import annotations

from enum import StrEnum


class EngineFamily(StrEnum):
    """What kind of database an engine gets: what the policy shapes and the renderer calls."""

    # One DB instance (terraform/modules/rds): a class and storage that only grows.
    INSTANCE = "instance"
    # An Aurora cluster (terraform/modules/aurora): its storage grows by itself; a writer (and a
    # reader) of a class, or Serverless v2 capacity.
    AURORA = "aurora"


class Engine(StrEnum):
    MYSQL = "mysql"
    POSTGRES = "postgres"
    AURORA_MYSQL = "aurora-mysql"
    AURORA_POSTGRESQL = "aurora-postgresql"

    @property
    def family(self) -> EngineFamily:
        return EngineFamily.AURORA if self.value.startswith("aurora-") else EngineFamily.INSTANCE


# What people call each engine (forms, pull requests).
ENGINE_LABELS: dict[Engine, str] = {
    Engine.POSTGRES: "PostgreSQL",
    Engine.MYSQL: "MySQL",
    Engine.AURORA_POSTGRESQL: "Aurora PostgreSQL",
    Engine.AURORA_MYSQL: "Aurora MySQL",
}


class Source(StrEnum):
    SLACK = "slack"
    API = "api"
    # The sweeper (a dev database's expiry asks for its decommission).
    SCHEDULE = "schedule"
