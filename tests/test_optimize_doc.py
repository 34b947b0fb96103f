"""The code blocks of docs/optimize.md run and their assertions hold; docstring examples too."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "optimize.md"


def test_doc_code_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for block in blocks:  # one namespace, in order, like a reader pasting them
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "ftarget" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["natgrad.optim.optimizer", "natgrad.optim.minimize"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
