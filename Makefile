# One entry point for developers and CI: `make test` installs and checks everything.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test install lint demo bench clean

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy \
		ALIBABA_CLOUD_ECS_METADATA_DISABLED=true \
		$(VENV)/bin/python -m pytest -q

demo: install
	$(VENV)/bin/imagebot try

bench: install
	env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy \
		ALIBABA_CLOUD_ECS_METADATA_DISABLED=true \
		$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
