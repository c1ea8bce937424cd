# Two commands are the whole set-up: `make serve` and `make test` create the virtual
# environment and install what is missing first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Torch is installed first and pinned so that a machine holding this CPU wheel needs no
# multi-gigabyte CUDA download; override (e.g. TORCH_SPEC="torch==2.13.0+cu128") on GPU nodes.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install serve test test-fast lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python -m cli serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	sh scripts/browser-deps.sh
	$(BIN)/python -m pytest --durations=15

# The units that start no process: gradcore, the API in-process, the CLI, the layer rule.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not processes and not slow" --durations=5

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .browser test-artifacts
