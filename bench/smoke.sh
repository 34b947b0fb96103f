#!/usr/bin/env bash
# Smoke runs of every benchmark script in its tiny mode (seconds), so they cannot rot.
# Peers (cma, cmaes, pypop7, coco-experiment, cocopp) are optional: a library that is not
# importable is skipped and the script says so; install them with `pip install ".[bench]"`.
# Results go to a temporary folder, never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export MPLBACKEND=Agg
py="${PYTHON:-python}"
echo "== bench smoke: peers.py --quick"
"$py" bench/peers.py --quick --out "$out/peers.json" --figures "$out/figures"
echo "== bench smoke: coco.py --smoke"
"$py" bench/coco.py --smoke --algorithms natgrad,pycma,natgrad-ipop,natgrad-bipop,pycma-bipop --results "$out/coco"
echo "== bench smoke: large_scale.py --smoke"
"$py" bench/large_scale.py --smoke --out "$out/large_scale.json" --figure "$out/figures/large_scale.png"
echo "== bench smoke: wake_sleep.py --smoke"
"$py" bench/wake_sleep.py --smoke --out "$out/wake_sleep.json" --figures "$out/figures"
# any other benchmark script that offers a --quick mode (e.g. bench/kernels.py)
for script in bench/*.py; do
  case "$script" in bench/peers.py | bench/coco.py | bench/adapters.py | bench/large_scale.py) continue ;; esac
  if grep -q -- '"--quick"' "$script"; then
    echo "== bench smoke: $script --quick"
    name="$(basename "$script" .py)"
    if grep -q -- '"--out"' "$script"; then
      "$py" "$script" --quick --out "$out/$name.json"
    else
      (cd "$out" && "$py" "$OLDPWD/$script" --quick)
    fi
  fi
done
echo "== bench smoke: done"
