# The two commands of the README, and a few conveniences.
.PHONY: dev test bench-stream
dev:            ## set up and run the service on its embedded defaults
	scripts/dev.sh
test:           ## set up and run the whole test suite against real MariaDB and Redis
	scripts/test.sh
bench-stream:   ## the streaming benchmark (see bench/README.md)
	.venv/bin/python bench/bench_stream.py
