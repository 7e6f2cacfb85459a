#!/bin/sh
# The whole test suite, from a fresh clone: creates ./venv (the same virtualenv that
# `pulumi up` uses), installs exactly what uv.lock holds for the program and the tests, then
# runs ruff (the formatter's check, then the linter), mypy (strict on the package, the policy
# pack and the programs), builds the docs site strictly, and runs pytest.
# Extra arguments go to pytest, e.g. `./tests/run.sh -k thumbprint`.
set -eu
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
PYTHON=${PYTHON:-python3}

if [ ! -x venv/bin/python ]; then
    echo "==> creating virtualenv ./venv"
    "$PYTHON" -m venv venv
fi
# uv installs the ~1 GB of provider SDKs in seconds where pip takes minutes.
if ! venv/bin/python -m uv --version 2>/dev/null | grep -q "uv $UV_VERSION"; then
    echo "==> installing uv $UV_VERSION"
    venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
echo "==> installing uv.lock (the program and the tests)"
# --inexact keeps uv itself and parliament, which the lock does not list.
UV_PROJECT_ENVIRONMENT=venv venv/bin/python -m uv sync --quiet --locked --inexact --group dev
# See the dev group in pyproject.toml for why these come without their dependencies.
venv/bin/python -m uv pip install --quiet --python venv/bin/python --no-deps parliament==1.6.4 json-cfg==0.4.2 kwonly-args==1.0.10
# helm renders the pinned charts in the tests; pinned and checked by sha256, kept in the venv.
venv/bin/python -m tests.install_helm

echo "==> ruff"
venv/bin/python -m ruff format --check .
venv/bin/python -m ruff check .
echo "==> mypy"
venv/bin/python -m mypy
# Each program's __main__.py on its own: mypy takes one module of that name per run.
for program in __main__.py examples/python/__main__.py component/__main__.py; do
    venv/bin/python -m mypy "$program"
done
echo "==> docs"
# The site, strictly: a broken link, anchor or missing page fails the run.
NO_MKDOCS_2_WARNING=1 venv/bin/mkdocs build --strict --site-dir "$(mktemp -d)"
echo "==> pytest"
# On every core; `-n 0` as an argument runs it in this process, one test after the other.
exec venv/bin/python -m pytest -n auto "$@"
