# The two commands: `make lab` and `make test`. Both set everything up first
# (Debian packages when missing, a venv with the package, a running engine),
# and both are quick when everything is already there.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
APT_PACKAGES := docker.io docker-registry busybox-static docker-compose chromium fonts-dejavu-core
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: lab test test-cluster setup system-deps engine bench engine-down recordings

lab: setup
	cd notebooks && ../$(BIN)/jupyter lab $(if $(NO_BROWSER),--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root)

# The multi-node swarm test (about 45 s) is left to `make test-cluster`, to keep this well under 15 minutes.
test: setup
	$(BIN)/python -m pytest -m "not cluster" $(PYTEST_ARGS)

# A real three-node swarm on this machine (network namespaces, a bridge, three more dockerds; root).
test-cluster: setup
	$(BIN)/python -m pytest -m cluster $(PYTEST_ARGS)

# What Binder replays (binder/recordings): every tutorial executed against the real engine, through the recorder.
recordings: setup
	$(BIN)/python tests/tutorials.py record binder/recordings

bench: setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

setup: system-deps $(STAMP) engine

system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing; install them as root (apt-get install$$missing)"; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml labextension/package.json $(wildcard labextension/src/* labextension/style/*)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the distribution was called jupyter-containers before (a name PyPI gives to another project)
	$(BIN)/python -m pip uninstall -q -y jupyter-containers 2>/dev/null || true
	$(BIN)/python -m pip install -q -e ".[test,lab]"
	touch $@

engine: $(STAMP)
	$(BIN)/jupyter-containers engine up

engine-down:
	$(BIN)/jupyter-containers engine down
