#!/usr/bin/env bash
# Print the path of a Python interpreter >= 3.12 (preferring 3.12), looking
# first on PATH and then in pyenv's versions folder.  Exit 1 with a clear message if none exists.
# Each candidate is executed, because pyenv shims for versions that are not
# selected exist on PATH but fail when run.
set -u
min_minor=12

works() {
    "$1" -c "import sys, venv; sys.exit(0 if sys.version_info >= (3, $min_minor) else 1)" >/dev/null 2>&1
}

for name in python3.12 python3.13 python3.14 python3 python; do
    if path=$(command -v "$name" 2>/dev/null) && works "$path"; then
        echo "$path"
        exit 0
    fi
done

pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
# Oldest supported first (3.12 is what the lsst wheels are tested with most):
# sort the version folder names numerically.
for dir in $(ls -d "$pyenv_root"/versions/3.* 2>/dev/null | sort -t. -k2,2n -k3,3n); do
    if works "$dir/bin/python3"; then
        echo "$dir/bin/python3"
        exit 0
    fi
done

echo "error: sky_correction needs Python >= 3.$min_minor (the lsst-* wheels require it)." >&2
echo "       None was found on PATH or under $pyenv_root/versions." >&2
echo "       Install one (e.g. 'pyenv install 3.12') and run make again." >&2
exit 1
