"""Every ```python block in docs/ runs (in order, one namespace per page), unless its first line
says it is not runnable (an API summary); docs/optimize.md is run by test_optimize_doc.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "optimize.md")


def blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run_or_say_they_do_not(page, capsys):
    namespace: dict = {}
    for block in blocks(page):
        if "not runnable" in block.splitlines()[0]:
            continue
        exec(compile(block, str(page), "exec"), namespace)


def test_the_api_summary_is_marked():
    # the Gaussian API summary uses `a | b` for alternatives: it must say it is not runnable
    summary = blocks(DOCS / "gaussian.md")[0]
    assert "not runnable" in summary.splitlines()[0]


def test_the_installed_distribution_carries_the_license():
    """The wheel (and so every install) ships LICENSE, whose terms pyproject's metadata names."""
    import importlib.metadata as metadata

    files = [str(p) for p in metadata.files("natgrad") or []]
    assert any(p.endswith("LICENSE") for p in files), files
    assert "BSD 3-Clause License" in (metadata.metadata("natgrad")["License"] or "")
