# The two commands of the README. Both set up what is missing first (Debian packages, .venv).
.PHONY: run test bootstrap

ARGS ?=

run: bootstrap
	.venv/bin/python main.py $(ARGS)

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python -m pytest

bootstrap:
	@bash scripts/bootstrap.sh
