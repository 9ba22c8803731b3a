"""Every table keyed by engine covers every engine, and the Terraform module each engine's family
renders into accepts exactly that family's engines: a new engine is table rows and Terraform, and a
row or a module branch left out fails here rather than at plan time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.domain.kinds import ENGINE_LABELS, Engine, EngineFamily
from backend.domain.policy import ENGINE_DEFAULTS
from backend.domain.reserved import RESERVED_BY_ENGINE
from backend.render.terraform import DELETION_PROTECTION_CHECKS, DEV_ONLY_CHECKS, MODULE_SOURCES, SHAPES

REPO = Path(__file__).resolve().parents[2]


def _module(family: EngineFamily) -> Path:
    # Sources are relative to an environment's root, terraform/envs/<env>.
    return (REPO / "terraform" / "envs" / "any" / MODULE_SOURCES[family]).resolve()


def _engines(family: EngineFamily) -> set[str]:
    return {engine.value for engine in Engine if engine.family is family}


@pytest.mark.parametrize(
    "table",
    [ENGINE_LABELS, ENGINE_DEFAULTS, RESERVED_BY_ENGINE],
    ids=["ENGINE_LABELS", "ENGINE_DEFAULTS", "RESERVED_BY_ENGINE"],
)
def test_every_engine_has_a_row(table: object) -> None:
    assert isinstance(table, dict)
    assert set(table) == set(Engine)


@pytest.mark.parametrize(
    "table",
    [MODULE_SOURCES, SHAPES, DELETION_PROTECTION_CHECKS, DEV_ONLY_CHECKS],
    ids=["MODULE_SOURCES", "SHAPES", "DELETION_PROTECTION_CHECKS", "DEV_ONLY_CHECKS"],
)
def test_every_engine_family_has_a_row(table: object) -> None:
    assert isinstance(table, dict)
    assert set(table) == set(EngineFamily)


@pytest.mark.parametrize("engine", list(Engine))
def test_an_engines_defaults_are_what_its_module_validates(engine: Engine) -> None:
    defaults = ENGINE_DEFAULTS[engine]
    assert defaults.engine == engine.value
    # Both modules validate family == "${var.engine}${var.major_engine_version}".
    assert defaults.family == f"{engine.value}{defaults.major_engine_version}"
    assert defaults.engine_version.startswith(defaults.major_engine_version)


@pytest.mark.parametrize("family", list(EngineFamily))
def test_each_module_accepts_exactly_its_familys_engines(family: EngineFamily) -> None:
    module = _module(family)
    variables = (module / "variables.tf").read_text(encoding="utf-8")
    (accepted,) = re.findall(r"contains\(\[([^\]]*)\], var\.engine\)", variables)
    assert set(re.findall(r'"([^"]+)"', accepted)) == _engines(family)

    main = (module / "main.tf").read_text(encoding="utf-8")
    # One parameter group per engine, of which only the requested engine's is created.
    assert set(re.findall(r'count += var\.engine == "([^"]+)"', main)) == _engines(family)
    # The logs each engine exports by default are the ones the renderer asks for.
    (exports,) = re.findall(r"standard_log_exports = \{(.*?)\n  \}", main, re.DOTALL)
    in_module = {
        name: tuple(re.findall(r'"([^"]+)"', logs))
        for name, logs in re.findall(r"^\s*([\w-]+)\s*=\s*\[([^\]]*)\]", exports, re.MULTILINE)
    }
    assert in_module == {
        engine.value: ENGINE_DEFAULTS[engine].enabled_cloudwatch_logs_exports
        for engine in Engine
        if engine.family is family
    }


def test_only_the_engines_with_backtrack_get_a_window() -> None:
    main = (_module(EngineFamily.AURORA) / "main.tf").read_text(encoding="utf-8")
    (in_module,) = re.findall(r'backtrack_window = var\.engine == "([^"]+)"', main)
    assert {in_module} == {engine.value for engine, d in ENGINE_DEFAULTS.items() if d.backtrack}
