# The two commands of the README. Both set up what is missing first (Debian packages, .venv).
.PHONY: run test bootstrap lock

ARGS ?=

run: bootstrap
	.venv/bin/python main.py $(ARGS)

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python -m pytest
	.venv/bin/python -m pytest -m stores --store postgresql -q

bootstrap:
	@bash scripts/bootstrap.sh

# Regenerate requirements.lock (exact versions with hashes, for Linux x86_64 / Python 3.11, test tools included)
# after a dependency in pyproject.toml changes. uv resolves for that platform from any machine.
lock: .venv/bin/uv
	.venv/bin/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" --quiet -o requirements.lock
	sed -i "1i # dependencies of pyproject.toml: $$(python3 scripts/deps_hash.py)" requirements.lock

.venv/bin/uv:  # the lock may be stale while it is being regenerated: uv comes straight from the index here
	[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/python -m pip install -q "uv>=0.5"
