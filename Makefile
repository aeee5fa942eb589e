# Mask Lab: `make run` serves the app, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PORT ?= 8501
# 127.0.0.1: this machine only. HOST=0.0.0.0 serves the network and then asks for MASKLAB_PASSWORD (README).
HOST ?= 127.0.0.1

.PHONY: run test setup demo-data clean-data

setup: $(STAMP)

# Reinstall only when requirements.txt changes; the stamp records what was installed.
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@cp requirements.txt $(STAMP)

# Generate the demo dataset unless MASKLAB_DATA_DIR points at real data.
demo-data: $(STAMP)
	@if [ -z "$$MASKLAB_DATA_DIR" ]; then $(PY) -c "from core.data import ensure_demo_data; from core.progress import StderrProgress; print('demo data:', ensure_demo_data(progress=StderrProgress('generating demo data')))"; fi

run: demo-data
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT)

test: $(STAMP)
	$(PY) -m pytest -q -rs -p no:cacheprovider < /dev/null

clean-data:
	rm -rf data/demo runs
