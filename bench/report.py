"""Fill the measured tables of BENCHMARKS.md from the benchmark scripts' JSON output.

``python bench/report.py`` reads ``bench/results/peers.json``, ``bench/results/coco/<mode>/coco.json``
(the quick, full-custom, bipop and bipop-pycma modes)
and ``bench/results/kernels.json`` (whichever exist) and replaces the text between each
``<!-- BEGIN name -->`` / ``<!-- END name -->`` marker pair in BENCHMARKS.md with the tables
generated from them. The prose around the markers is written by hand; the numbers inside them
are never edited by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        print(f"# marker {name} not found in BENCHMARKS.md; skipped")
        return text
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def environment_md(info: dict[str, Any]) -> str:
    m = info["machine"]
    build = info.get("natgrad_build", {})
    blas = info.get("blas")
    blas_text = (
        ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']} kernel)" for b in blas)
        if isinstance(blas, list)
        else str(blas)
    )
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    lines = [
        f"* Measured {info['date_utc']} UTC on: {m['cpu']}, {m['nproc']} cores, "
        f"{m['ram_gib']} GiB RAM, {m['platform']}.",
        f"* Load average (1, 5, 15 min) at start {_load(m.get('loadavg'))}, at end "
        f"{_load(m.get('loadavg_end') or info.get('loadavg_end'))}.",
        f"* Python {info['python']}; {versions}.",
        f"* BLAS loaded by NumPy (threadpoolctl): {blas_text}.",
    ]
    if isinstance(build, dict):
        lines.append(
            f"* natgrad.build_info(): ISA level **{build.get('isa_level')}** (CPU supports "
            f"{build.get('supported_levels')}), flags `{build.get('build_flags')}`, "
            f"{build.get('compiler')}, Eigen {build.get('eigen_version')} "
            f"(SIMD: {build.get('eigen_simd')})."
        )
    else:
        lines.append(f"* natgrad.build_info(): {build}")
    return "\n".join(lines)


def _load(values: Any) -> str:
    if not values:
        return "n/a"
    return ", ".join(f"{v:.1f}" for v in values)


def _split_peers(report: dict[str, Any]) -> tuple[str, str]:
    text = "\n".join(report.get("markdown", []))
    # print_timing's blocks come first, print_counts' after; split on the counts heading
    split = text.find("Evaluations to f < 1e-8")
    return (text[:split], text[split:]) if split >= 0 else (text, "")


def peers_sections(
    report: dict[str, Any], counts_report: dict[str, Any] | None = None
) -> dict[str, str]:
    """Sections from one peers.py run, or timing from ``report`` and counts from another run."""
    timing, counts = _split_peers(report)
    source = report
    if counts_report is not None:
        counts, source = _split_peers(counts_report)[1], counts_report
    settings = source["settings"]
    env = dict(report["environment"])
    skipped = report.get("skipped", {})
    notes = [f"* {label}: {reason}" for label, reason in skipped.items()]
    senv = source["environment"]
    header = (
        f"Settings: x0 ~ U(-2, 2)^n per (n, seed) shared by every library, sigma0 = "
        f"{settings['sigma0']}, library-default λ, budget {settings['budget_per_dim']:,}·n "
        f"evaluations, {len(settings['seeds'])} seeds, wall cap {settings['wall_cap_seconds']:.0f} s "
        f"per run, no restarts. Run started {senv['date_utc']} UTC, took "
        f"{source.get('seconds', 0):.0f} s on 2 processes (load average at start "
        f"{_load(senv['machine'].get('loadavg'))})."
    )
    out = {
        "peers-environment": environment_md(env),
        "peers-skipped": "\n".join(notes) if notes else "* none",
        "peers-counts": header + "\n\n" + counts.strip(),
    }
    if timing.strip():
        out["peers-timing"] = timing.strip()
    return out


def coco_sections(report: dict[str, Any], marker: str = "coco-table") -> dict[str, str]:
    s = report["settings"]
    header = (
        f"Mode `{s['mode']}`: functions {_span(s['functions'])}, dimensions "
        f"{', '.join(map(str, s['dims']))}, instances {_span(s['instances'])}, budget "
        f"{s['budget_per_dim']:g}·n, {s['restarts']}; experiment "
        f"{report.get('seconds_experiment', 0):.0f} s wall for the algorithms run (in parallel), cocopp "
        f"{report.get('seconds_postprocess', 0):.0f} s."
    )
    return {marker: header + "\n" + "\n".join(report.get("markdown", []))}


def coco_restart_section(report: dict[str, Any]) -> str:
    """``coco.py --bipop``: the settings, the environment and the IPOP/BIPOP restart table."""
    s = report["settings"]
    wall = (
        "in parallel"
        if s.get("jobs", 2) > 1 and len(s.get("algorithms", [])) > 1
        else "one after the other, one process"
    )
    header = (
        f"Mode `{s['mode']}`: functions {_span(s['functions'])}, dimensions "
        f"{', '.join(map(str, s['dims']))}, instances {_span(s['instances'])}, budget "
        f"{s['budget_per_dim']:g}·n, algorithms {', '.join(s.get('algorithms', []))} "
        f"({s.get('library_restarts', '')}); experiment "
        f"{report.get('seconds_experiment', 0):.0f} s wall ({wall}), cocopp "
        f"{report.get('seconds_postprocess', 0):.0f} s."
    )
    return "\n".join(
        [header, "", environment_md(report["environment"]), *report.get("restart_table", [])]
    )


def _span(values: Sequence[int]) -> str:
    values = list(values)
    if values and values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}–{values[-1]}"
    return ", ".join(map(str, values))


def kernels_section(report: dict[str, Any]) -> str:
    build = report.get("build_info", {})
    lines = [
        f"`python bench/kernels.py` (ISA level {build.get('isa_level')}, "
        f"`{build.get('build_flags')}`; NumPy {report.get('numpy')}, BLAS {report.get('blas')}): "
        "median time per call, compiled core vs the pure-NumPy twin in `natgrad.reference`; "
        "ratio = NumPy / compiled (> 1: compiled is faster). n = dimension, m = number of "
        "natural parameters n + n(n+1)/2.",
        "",
        "| kernel | n | m | compiled ms | NumPy ms | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["results"]:
        ref = row.get("reference_s")
        ratio = row.get("ratio")
        lines.append(
            f"| {row['kernel']} | {row['n']} | {row['m']} | {1e3 * row['core_s']:.4g} | "
            f"{'n/a' if ref is None else f'{1e3 * ref:.4g}'} | "
            f"{'' if ratio is None else f'{ratio:.1f}'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--peers", default=str(RESULTS / "peers.json"))
    parser.add_argument(
        "--peers-counts",
        default=None,
        help="table (b) from this peers.py --skip-time run instead of --peers",
    )
    parser.add_argument("--coco", default=str(RESULTS / "coco" / "quick" / "coco.json"))
    parser.add_argument(
        "--coco-extra",
        default=str(RESULTS / "coco" / "full-custom" / "coco.json"),
        help="a second COCO run (e.g. all 24 functions) for the coco-extra-table marker",
    )
    parser.add_argument(
        "--coco-bipop",
        default=str(RESULTS / "coco" / "bipop" / "coco.json"),
        help="coco.py --bipop (IPOP vs BIPOP) for the coco-bipop-table marker",
    )
    parser.add_argument(
        "--coco-bipop-reference",
        nargs="*",
        default=[
            str(RESULTS / "coco" / name / "coco.json") for name in ("bipop-pycma", "bipop-pycma-20")
        ],
        help="coco.py --bipop runs with pycma-bipop, one after the other in the "
        "coco-bipop-reference-table marker",
    )
    parser.add_argument("--kernels", default=str(RESULTS / "kernels.json"))
    args = parser.parse_args(argv)
    doc = Path(args.doc)
    text = doc.read_text()
    sections: dict[str, str] = {}
    counts_path = Path(args.peers_counts) if args.peers_counts else None
    counts_report = json.loads(counts_path.read_text()) if counts_path else None
    for path, build in (
        (args.peers, lambda r: peers_sections(r, counts_report)),
        (args.coco, coco_sections),
        (args.coco_extra, lambda r: coco_sections(r, "coco-extra-table")),
        (args.coco_bipop, lambda r: {"coco-bipop-table": coco_restart_section(r)}),
        (args.kernels, lambda r: {"kernels-table": kernels_section(r)}),
    ):
        p = Path(path)
        if p.exists():
            sections.update(build(json.loads(p.read_text())))
            print(f"# read {p}")
        else:
            print(f"# {p} not found; its sections are left as they are")
    references = [Path(p) for p in args.coco_bipop_reference if Path(p).exists()]
    if references:
        sections["coco-bipop-reference-table"] = "\n\n".join(
            coco_restart_section(json.loads(p.read_text())) for p in references
        )
        print(f"# read {', '.join(map(str, references))}")
    for name, body in sections.items():
        text = _replace(text, name, body)
    doc.write_text(text)
    print(f"# updated {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
