# The two commands: `make run` (the agent on the embedded defaults) and `make test`.
# Both set everything up first (scripts/setup.sh is idempotent: a second run takes seconds).
.PHONY: setup run test bench eval doctor lint help
VENV := .venv
ARGS ?=

help:
	@echo "make run     set up, then start the agent (SIP 127.0.0.1:5060, HTTP 127.0.0.1:8080)"
	@echo "make test    set up, then run the whole test suite"
	@echo "make bench   set up, then run the latency benchmark"
	@echo "make eval    set up, then score the front desk on the conversation scenarios"
	@echo "make doctor  check dependencies, models, configs and ports"

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/voiceagent serve $(ARGS)

test: setup
	$(VENV)/bin/python -m pytest $(ARGS)

bench: setup
	$(VENV)/bin/voiceagent bench $(ARGS)

eval: setup
	$(VENV)/bin/voiceagent eval $(ARGS)

doctor: setup
	$(VENV)/bin/voiceagent doctor

lint:
	$(VENV)/bin/ruff check voiceagent tests scripts
	$(VENV)/bin/mypy voiceagent
