"""python -m natgrad: help, minimize (progress and result), demo, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import natgrad
from es_strategy import CSAES
from natgrad import cli
from natgrad.optim import METHODS


@pytest.fixture
def test_method(monkeypatch):
    monkeypatch.setitem(METHODS, "test-csa-es", CSAES)
    return "test-csa-es"


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["minimize", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in [
        "--function",
        "--dim",
        "--method",
        "--seed",
        "--x0",
        "--sigma0",
        "--max-evals",
        "--ftarget",
        "--popsize",
        "--restarts",
        "--every",
        "--quiet",
    ]:
        assert option in text
    assert "rosenbrock" in text


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "natgrad", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "minimize" in out and "demo" in out


def test_minimize_prints_progress_and_result(capsys, test_method):
    code = cli.main(
        [
            "minimize",
            "--function",
            "sphere",
            "--dim",
            "4",
            "--method",
            test_method,
            "--seed",
            "1",
            "--every",
            "5",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "gen" in out and "evals" in out and "best f" in out and "sigma" in out
    progress = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(progress) >= 3
    gens = [int(p[0]) for p in progress]
    assert all(g % 5 == 0 for g in gens)
    best = [float(p[2]) for p in progress]
    assert best == sorted(best, reverse=True)
    assert "stop:        ftarget" in out and "success:     True" in out


def test_minimize_is_reproducible_and_quiet(capsys, test_method):
    argv = [
        "minimize",
        "--function",
        "rosenbrock",
        "--dim",
        "3",
        "--method",
        test_method,
        "--seed",
        "2",
        "--max-evals",
        "500",
        "--quiet",
    ]
    cli.main(argv)
    first = capsys.readouterr().out
    cli.main(argv)
    second = capsys.readouterr().out
    strip = [line for line in first.splitlines() if not line.startswith("time")]
    assert strip == [line for line in second.splitlines() if not line.startswith("time")]
    assert "gen" not in first.split("stop:")[0]
    nfev = int(
        next(line for line in first.splitlines() if line.startswith("evaluations")).split()[1]
    )
    assert 500 <= nfev < 500 + 7  # the budget, overshot by less than one generation (λ = 7)


def test_popsize_and_restarts(capsys, test_method):
    cli.main(
        [
            "minimize",
            "--function",
            "rastrigin",
            "--dim",
            "2",
            "--method",
            test_method,
            "--seed",
            "0",
            "--popsize",
            "6",
            "--restarts",
            "2",
            "--quiet",
            "--ftarget",
            "-1",
        ]
    )
    out = capsys.readouterr().out
    assert "restarts:    2" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["minimize", "--function", "nope"], "invalid choice"),
        (["minimize", "--dim", "1"], "--dim must be >= 2"),
        (["minimize", "--sigma0", "0"], "--sigma0 must be > 0"),
        (["minimize", "--method", "nope"], "method must be one of"),
        (["minimize", "--every", "0"], "--every must be >= 1"),
        (
            ["minimize", "--seed", "-1"],
            "seed must be None, a non-negative integer or a SeedSequence, got -1",
        ),
        (["minimize", "--method", "binary-sngd", "--dim", "3"], "binary-sngd searches {-1, +1}^n"),
        (["minimize", "--dim", "4", "--integers", "0-x"], "--integers must be indices and ranges"),
        (
            ["minimize", "--dim", "4", "--integers", "2-4"],
            "'2-4' is not a range of indices in [0, 4)",
        ),
        (["minimize", "--dim", "4", "--method", "binary-sngd", "--integers", "0"], "binary-sngd"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2(argv, match, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_help_lists_only_continuous_methods(capsys):
    with pytest.raises(SystemExit):
        cli.main(["minimize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "igo-cma, lowrank, snes, sngd, xnes" in text and "binary-sngd" not in text


def test_out_of_memory_is_a_clean_error(monkeypatch, capsys):
    class Huge(CSAES):
        def initial_state(self, x0, sigma0):
            raise MemoryError("Unable to allocate 71.1 PiB")

    monkeypatch.setitem(METHODS, "test-huge", Huge)
    with pytest.raises(SystemExit) as info:
        cli.main(["minimize", "--method", "test-huge", "--dim", "3", "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "not enough memory for --dim 3 with --method test-huge" in err
    assert "Traceback" not in err


def test_demo_absent_gives_clear_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "natgrad.demo", None)
    assert cli.main(["demo"]) == 1
    assert "demo is not available" in capsys.readouterr().err


def test_demo_runs_run_demo(monkeypatch):
    import types

    called = []
    module = types.ModuleType("natgrad.demo")
    module.run_demo = lambda: called.append(True)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "natgrad.demo", module)
    assert cli.main(["demo"]) == 0 and called == [True]


def test_help_explains_the_history_and_budget_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["minimize", "--help"])
    text = capsys.readouterr().out
    for option in [
        "--max-iter",
        "--run-max-iter",
        "--log",
        "--plot",
        "--checkpoint",
        "--checkpoint-every",
        "--resume",
    ]:
        assert option in text


def test_max_iter_log_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    log, figure = tmp_path / "run.csv", tmp_path / "run.png"
    argv = ["minimize", "--function", "rastrigin", "--dim", "3", "--seed", "4", "--restarts",
            "3", "--max-iter", "150", "--quiet", "--log", str(log), "--plot", str(figure)]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "stop:        max_iter" in out and "generations: 150" in out
    history = natgrad.History.load(log)
    assert len(history) == 150 and history.iteration[-1] == 150
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_run_max_iter_caps_each_run(capsys):
    argv = ["minimize", "--function", "sphere", "--dim", "3", "--seed", "1", "--restarts", "1",
            "--run-max-iter", "5", "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "stop:        run_max_iter" in out and "generations: 10" in out
    with pytest.raises(SystemExit) as info:
        cli.main([*argv[:-3], "--run-max-iter", "often"])
    assert info.value.code == 2
    assert "--run-max-iter: must be a count, 'default' or 'none', got 'often'" in (
        capsys.readouterr().err
    )


def test_checkpoint_and_resume(tmp_path, capsys):
    path = tmp_path / "run.npz"
    base = ["minimize", "--function", "rosenbrock", "--dim", "4", "--seed", "2", "--quiet"]
    cli.main([*base, "--max-iter", "40", "--checkpoint", str(path), "--checkpoint-every", "10"])
    capsys.readouterr()
    cli.main([*base, "--max-iter", "40"])
    uninterrupted = capsys.readouterr().out
    cli.main([*base, "--max-iter", "40", "--resume", str(path)])
    resumed = capsys.readouterr().out

    def result(out):
        return [line for line in out.splitlines() if line.startswith(("best f", "evaluations"))]

    assert result(resumed) == result(uninterrupted) and len(result(resumed)) == 2


def test_resume_with_other_arguments_exits_2(tmp_path, capsys):
    path = tmp_path / "run.npz"
    base = ["minimize", "--function", "sphere", "--dim", "3", "--seed", "2", "--quiet"]
    cli.main([*base, "--max-iter", "20", "--checkpoint", str(path)])
    with pytest.raises(SystemExit) as info:
        cli.main([*base, "--max-iter", "30", "--resume", str(path)])
    assert info.value.code == 2
    assert "max_iter" in capsys.readouterr().err


def test_bipop_restarts(tmp_path, capsys):
    log = tmp_path / "run.npz"
    argv = ["minimize", "--function", "rastrigin", "--dim", "4", "--seed", "0", "--restarts",
            "3", "--bipop", "--quiet", "--log", str(log)]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    restarts = int(
        next(line for line in out.splitlines() if line.startswith("restarts")).split()[1]
    )
    history = natgrad.History.load(log)
    popsizes = [int(history.popsize[history.run == k][0]) for k in range(restarts + 1)]
    # small-regime runs have population sizes that are not the IPOP sequence λ0 · 2^k
    assert restarts > 3 and any(p not in (7, 14, 28, 56) for p in popsizes), popsizes


def test_integer_coordinates(capsys):
    argv = ["minimize", "--function", "ellipsoid", "--dim", "6", "--seed", "2", "--integers",
            "0-2,5", "--x0", "2.5", "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "success:     True" in out
    res = natgrad.minimize(
        natgrad.functions.ellipsoid, np.full(6, 2.5), 1.0, seed=2, vectorized=True,
        ftarget=1e-8, integers=[0, 1, 2, 5],
    )  # fmt: skip
    assert np.array_equal(res.x[[0, 1, 2, 5]], np.round(res.x[[0, 1, 2, 5]]))
    assert f"best f:      {res.fun:.6e}" in out  # the CLI ran this search


def test_plot_without_matplotlib_exits_2_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(SystemExit) as info:
        cli.main(
            ["minimize", "--function", "sphere", "--dim", "3", "--plot", str(tmp_path / "a.png")]
        )
    assert info.value.code == 2
    assert 'pip install "natgrad[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()
