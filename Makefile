# The two commands: `make run` (the agent on the embedded defaults) and `make test`.
# Both set everything up first (scripts/setup.sh is idempotent: a second run takes seconds).
.PHONY: setup run test bench bench-box eval doctor lint help soak
VENV := .venv
ARGS ?=

help:
	@echo "make run     set up, then start the agent (SIP 127.0.0.1:5060, HTTP 127.0.0.1:8080)"
	@echo "make test    set up, then run the whole test suite"
	@echo "make bench   set up, then run the latency benchmark"
	@echo "make bench-box  concurrency sweep of serve --workers 3 behind Kamailio (1..12 calls)"
	@echo "make eval    set up, then score the front desk on the conversation scenarios"
	@echo "make doctor  check dependencies, models, configs and ports"
	@echo "make soak    SIP soak: mixed calls and abuse for SOAK_MINUTES (10), then an audit"

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/voiceagent serve $(ARGS)

test: setup
	$(VENV)/bin/python -m pytest $(ARGS)

bench: setup
	$(VENV)/bin/voiceagent bench $(ARGS)

# a private network namespace: the sweep uses fixed loopback ports
bench-box: setup
	unshare -n sh -c 'ip link set lo up; $(VENV)/bin/python scripts/bench_box.py $(ARGS)'

eval: setup
	$(VENV)/bin/voiceagent eval $(ARGS)

# not part of the suite: SOAK_MINUTES=3 make soak for a short run; report in soak-report/
SOAK_MINUTES ?= 10
soak: setup
	$(VENV)/bin/python -m tests.soak.run --minutes $(SOAK_MINUTES) --out soak-report

doctor: setup
	$(VENV)/bin/voiceagent doctor

lint:
	$(VENV)/bin/ruff check voiceagent tests scripts
	$(VENV)/bin/mypy voiceagent
