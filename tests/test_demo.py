import re

from natgrad.demo import run_demo


def test_demo_runs_and_reports_small_errors(capsys):
    run_demo()
    out = capsys.readouterr().out
    gap = float(re.search(r"Legendre gap .* = (\S+)", out).group(1))
    assert abs(gap) < 1e-14
    lines = [
        ln.split(None, 1)[1]
        for ln in out.splitlines()
        if ln.strip().startswith(("computed", "formula"))
    ]
    assert lines[0] == lines[1]
