# The two commands of the README. Both install what they need into .venv on first use.
PY := .venv/bin/python
PORT ?= 8501

.PHONY: dashboard test test-fast browser spark screenshots bench lint

.venv/.installed: requirements.txt
	test -x $(PY) || python3 -m venv .venv
	.venv/bin/pip install -q -U pip
	.venv/bin/pip install -q -r requirements.txt
	touch $@

## Tests and tooling (pytest, Playwright, ruff) on top of the runtime.
.venv/.dev-installed: .venv/.installed requirements-dev.txt
	.venv/bin/pip install -q -r requirements-dev.txt
	touch $@

## Open the dashboard on the built-in demo data (built into data/labelwatch.duckdb on first start).
## ui.warm_up runs the app once as soon as the server answers (imports, demo build, the Overview's
## queries), so the first visitor does not wait for them.
dashboard: .venv/.installed
	$(PY) -m ui.warm_up http://127.0.0.1:$(PORT) & \
	.venv/bin/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

## Debian's Chromium for the browser tests (never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

## Apache Spark in local mode for `stats --engine spark` and tests/engine: Debian's Java 17 when java is
## missing, and pyspark (requirements-spark.txt).
spark: .venv/.spark-installed
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)

.venv/.spark-installed: .venv/.installed requirements-spark.txt
	.venv/bin/pip install -q -r requirements-spark.txt
	touch $@

## The linter, then the whole test suite (doctests of the engine, browser and Spark tests included).
test: lint browser spark
	$(PY) -m pytest -q --doctest-modules analytics
	$(PY) -m pytest -q

## While working: the linter, the doctests and every test but the slow ones (marked slow: large stores, a fresh
## venv, killed imports, Monte-Carlo checks of error rates) and the browser tests. `make test` runs them all.
test-fast: lint
	$(PY) -m pytest -q --doctest-modules analytics
	$(PY) -m pytest -q -m "not slow and not e2e"

## Regenerate the README screenshots from the demo store (through the browser tests).
screenshots: .venv/.dev-installed browser
	LABELWATCH_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/e2e

lint: .venv/.dev-installed
	.venv/bin/ruff check .
