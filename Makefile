# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test docs bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# torch==2.13.0 is pinned in pyproject.toml; pip resolves it to the local CPU build.
# The base install carries the applications' extras (PySCF, OR-Tools, cvxpy): the tour uses them.
$(VENV)/.installed-base: $(PY) pyproject.toml setup.py setup_ext.py src/qtandem/sim/_kernels.c
	$(PIP) install -q -e '.[chem,opt]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-base
	$(PIP) install -q -e '.[dev]'
	touch $@

# Mitiq 1.1 (bench/mitigation.py's peer) pins numpy<2.3 and cirq-core<1.7: resolved into the venv it would
# downgrade numpy under every other tool. It goes beside the venv without its pins (the calls the bench makes
# work with numpy 2.4 / cirq 1.7), appended to sys.path by a .pth file so site-packages still wins.
$(VENV)/.installed-bench: $(VENV)/.installed-base
	$(PIP) install -q -e '.[bench]'
	$(PIP) install -q --no-deps --upgrade --target $(VENV)/side-mitiq 'mitiq==1.1.0' tabulate
	echo "$(abspath $(VENV))/side-mitiq" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/qtandem-side-mitiq.pth"
	touch $@

demo: $(VENV)/.installed-base
	$(VENV)/bin/qtandem tour

# pytest exits 5 when it collected nothing: treated as a failure.
test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the layer contract in pyproject.toml (imports inside functions count)
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc
	$(MAKE) docs

# API reference site (MkDocs + Material + mkdocstrings, from the [docs] extra) -> site/.
# Pages come from the docstrings, README.md and the CLI tree (docs/hooks.py); --strict fails on any warning.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Peer simulators come from the [bench] extra; results land in bench/results/ (JSON).
bench: $(VENV)/.installed-bench
	mkdir -p bench/results
	$(PY) bench/statevector.py --sizes 12,16,20,22,24 --repeats 3 --extra --json bench/results/statevector.json
	$(PY) bench/noise.py --json bench/results/noise.json
	$(PY) bench/hybrid_speed.py --memory --json bench/results/hybrid_speed.json
	$(PY) bench/hybrid_baselines.py --json bench/results/hybrid_baselines.json
	$(PY) bench/qec.py --json bench/results/qec.json
	$(PY) bench/qec_neural.py --shots 500000 --json bench/results/qec_neural.json
	$(PY) bench/compile.py --json bench/results/compile.json
	$(PY) bench/compile_search.py --json bench/results/compile_search.json

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build runs site src/qtandem/sim/*.so
