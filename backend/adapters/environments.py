"""The environments file (deploy/environments.toml, or ENVIRONMENTS_FILE): read and validated once.

Each ``[environments.<name>]`` table is one environment's ``EnvironmentPolicy``; its sub-tables
``aurora``, ``expiry`` and ``approvals`` are the policy's parts. A file that is not valid stops the
process at its first use of an environment, naming the file and every value at fault.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from backend.domain.naming import ENVIRONMENT_NAME_PATTERN
from backend.domain.policy import EnvironmentPolicy
from backend.settings import SettingsError

EnvironmentName = Annotated[str, StringConstraints(pattern=ENVIRONMENT_NAME_PATTERN)]


class EnvironmentsFile(BaseModel):
    """The file: at least one environment, each a complete policy (unknown keys are refused)."""

    # Built on the first load, not at import: a process reads its environments once, when it first
    # needs a policy.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    environments: dict[EnvironmentName, EnvironmentPolicy] = Field(min_length=1)


class EnvironmentsFileError(SettingsError):
    """The environments file is missing or not valid; names the file and each value at fault."""


@lru_cache(maxsize=8)
def load_environments(path: Path) -> Mapping[str, EnvironmentPolicy]:
    """Each environment of the file at ``path`` and its policy, in the file's order."""
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise EnvironmentsFileError(f"ENVIRONMENTS_FILE {path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise EnvironmentsFileError(f"ENVIRONMENTS_FILE {path}: not TOML ({error})") from None
    try:
        return EnvironmentsFile.model_validate(document).environments
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise EnvironmentsFileError(f"ENVIRONMENTS_FILE {path}: {problems}") from None
