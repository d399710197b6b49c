#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install the package with every extra the
# tests, the demo and the benchmarks use (test, bps, plot, bench).
# Also installs GNU GSL (Debian libgsl27), which the interpolation tests call as
# an independent oracle, when the machine allows it (root + apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    python=$(bash scripts/find_python.sh)
    echo "bootstrap: creating $venv with $python ($("$python" --version))"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[test,bps,plot,bench]"

if ! ldconfig -p 2>/dev/null | grep -q 'libgsl\.so\.27'; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing libgsl27 (GNU GSL, the interpolation test oracle)"
        apt-get install -y -qq libgsl27 >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libgsl27 >/dev/null; } \
            || echo "bootstrap: warning: could not install libgsl27; the GSL comparison tests will fail" >&2
    else
        echo "bootstrap: warning: libgsl27 is missing and cannot be installed here;" \
             "the GSL comparison tests will fail" >&2
    fi
fi
touch "$venv/.installed"
