"""The README and docs/ name only what exists, and stay short enough to read."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

# A repository path: one of its top-level directories, then path characters; not part of a URL,
# a longer path or a word (``https://x/tests/...``, ``$PWD/sam/...`` is still checked as ``sam/...``).
_PATH = re.compile(
    r"(?<![\w.\-/])((?:backend|bot|terraform|tests|sam|bootstrap|deploy|docs|bench|\.circleci|\.ci)/[\w./-]*)"
)
# A Python module named by its dotted path: ``backend.handlers.dead_letters``.
_MODULE = re.compile(r"(?<![\w.])((?:backend|bot|tests|bench)(?:\.[a-z_]+)+)(?![\w(])")
_LINK = re.compile(r"\]\(([\w./#-]+)\)")
# Files a request renders (``terraform/envs/dev/rds_orders.tf``): examples, not repository files.
_RENDERED = re.compile(r"/rds_[a-z0-9_]+\.tf$")
# Written on other branches of this wave; they exist once those are merged, and then this goes.
_OTHER_BRANCHES: set[str] = set()


def _exists(relative: str) -> bool:
    if relative in _OTHER_BRANCHES and not (REPO_ROOT / relative).exists():
        return True
    return (REPO_ROOT / relative).exists()


def _named_paths(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    named = set()
    for match in _PATH.finditer(text):
        path = match.group(1).rstrip(".,;:")
        if text[match.end() : match.end() + 1] in {"<", "{", "*", "$"}:
            # A placeholder follows (``terraform/envs/dev/rds_<name>.tf``): its directory must exist.
            path = path.rsplit("/", 1)[0] + "/"
        named.add(path)
    for link in _LINK.findall(text):
        target = link.split("#", 1)[0]
        if target:
            named.add(str((page.parent / target).resolve().relative_to(REPO_ROOT)))
    return {path for path in named if not _RENDERED.search(path)}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_path_a_page_names_exists(page: Path) -> None:
    named = _named_paths(page)
    assert named, f"{page.name} names no repository path at all: is the pattern still right?"
    missing = sorted(path for path in named if not _exists(path))
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_python_module_a_page_names_exists(page: Path) -> None:
    missing = []
    for module in set(_MODULE.findall(page.read_text(encoding="utf-8"))):
        base = REPO_ROOT / module.replace(".", "/")
        if not (base.with_suffix(".py").exists() or (base / "__init__.py").exists()):
            missing.append(module)
    assert not missing, f"{page.name} names modules that do not exist: {sorted(missing)}"


def test_the_readme_is_short_and_spells_rdsctl_one_way() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert ".venv/bin/rdsctl " not in text.replace("(or call .venv/bin/rdsctl)", ""), page.name
        assert "python -m local.cli" not in text, page.name


# The team's design page is not in the repository, so a citation of it (its file name, or its
# name and a section number) sends the reader nowhere: name the rule, or the docs/ page that
# states it. Spelled in pieces so that this file does not cite it either.
_DESIGN_PAGE = re.compile(rb"\bDESIGN" + rb"(?:\.md\b|\s+(?:section\s+)?\d)")


def _repository_files() -> list[str]:
    """Every file git tracks, and every new one it does not ignore, that is in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if (REPO_ROOT / name).is_file()})


def test_the_design_citation_pattern_finds_citations() -> None:
    for citation in ("(DESIGN" + ".md 7.5)", "as DESIGN" + " 7.7 says", "DESIGN" + " section 3"):
        assert _DESIGN_PAGE.search(citation.encode()), citation
    assert not _DESIGN_PAGE.search(b"what design promises; DESIGNATED 7")


def test_no_repository_file_cites_the_design_page() -> None:
    files = _repository_files()
    assert "tests/unit/test_docs.py" in files, "git ls-files did not list the repository"
    citing = [name for name in files if _DESIGN_PAGE.search((REPO_ROOT / name).read_bytes())]
    assert not citing, f"these files cite the design page, which the repository lacks: {citing}"


def test_the_readme_links_every_docs_page() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in readme, page.name


def test_project_license_is_an_spdx_expression() -> None:
    # A table (`{text = ...}`) makes setuptools warn on every install.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"


def test_every_setting_is_documented() -> None:
    from backend.settings import Settings

    # The configuration table of docs/operations.md, or the page of the part the setting tunes.
    cells = " ".join(
        line.split("|")[1]
        for page in PAGES
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    )
    missing = sorted(name for name in Settings.environment_variables() if f"`{name}`" not in cells)
    assert not missing, (
        f"no table of README.md or docs/ names {missing} (docs/operations.md has the main one)"
    )
