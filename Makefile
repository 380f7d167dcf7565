# The two commands of the README. Both set up everything on a fresh machine first.
#   make bench   - virtual environment, pinned packages, then the default benchmark (snakemake)
#   make test    - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 8

.PHONY: setup bench test clean-work
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e ".[dev]"
	touch $@

bench: setup
	$(BIN)/snakemake --cores $(CORES) --keep-going --rerun-triggers mtime params input

# pytest exits 5 when it collects no test: that must fail, not pass silently.
test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

clean-work:
	rm -rf work .snakemake logs
