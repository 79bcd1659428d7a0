# Two commands set everything up on a fresh machine: `make up` and `make test`.
# uv is installed into a private bootstrap venv (.uv/) so nothing global is needed.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: up test lint typecheck bench docs clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

up: .venv/.synced
	.venv/bin/crm up

test: .venv/.synced
	.venv/bin/pytest

lint: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# Load from wrk (installed with apt-get when missing and possible); options after
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--seconds 5 --profile". See bench/RESULTS.md.
BENCH_ARGS ?=
bench: .venv/.synced
	.venv/bin/python -m bench $(BENCH_ARGS)

docs: .venv/.synced
	.venv/bin/crm docs generate

clean:
	rm -rf .venv .uv
