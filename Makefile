# Latchkey — the two commands of the quick start, and the pieces they are made of.
#   make run    install dependencies, build a release binary, start `latchkey serve --dev`
#   make test   install dependencies, build every configuration once, run every suite
#   make bench  side-by-side benchmark against oidc-provider (not part of `make test`)

SHELL := /bin/bash
JOBS ?= $(shell nproc)
CTEST_JOBS ?= 2

.PHONY: run test deps build-dev build-release build-asan build-tsan build-fuzz unit-dev unit-asan unit-tsan fuzz \
        check-format check-layering lint format bench clean

run: deps build-release
	./build/release/src/cli/latchkey serve --dev

deps:
	@bash scripts/deps.sh

test: deps check-format check-layering build-dev lint unit-dev build-asan unit-asan build-tsan unit-tsan build-fuzz fuzz
	@echo "make test: all suites passed"

build-dev:
	cmake --preset dev >/dev/null
	cmake --build build/dev -j$(JOBS)

build-release:
	cmake --preset release >/dev/null
	cmake --build build/release -j$(JOBS) --target latchkey

build-asan:
	cmake --preset asan >/dev/null
	cmake --build build/asan -j$(JOBS)

# ThreadSanitizer: only the client SDK's tests (its single-flight refresh, caches and transport are
# the concurrent code that runs inside other people's programs).
build-tsan:
	cmake --preset tsan >/dev/null
	cmake --build build/tsan -j$(JOBS) --target sdk_client_test sdk_validator_test

build-fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz -j$(JOBS)

# Unit, end-to-end and interop suites of the dev build.
unit-dev:
	cd build/dev && ctest --output-on-failure -j$(CTEST_JOBS) --timeout 300

# The same unit and end-to-end suites under AddressSanitizer + UBSan (without the interop suites
# and the extra PostgreSQL runs of suites that also run on SQLite).
unit-asan:
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(CTEST_JOBS) --timeout 600 -LE 'interop|pg_variant'

unit-tsan:
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build/tsan/sdk/client/sdk_client_test --gtest_brief=1
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build/tsan/sdk/validator/sdk_validator_test --gtest_brief=1

fuzz:
	bash scripts/run-fuzzers.sh build/fuzz

check-format:
	bash scripts/check-format.sh

check-layering:
	bash scripts/check-layering.sh

# clang-tidy over the dev build's compile database (allow-list in .clang-tidy).
lint:
	bash scripts/lint.sh build/dev

format:
	bash scripts/check-format.sh --fix

bench: deps
	@bash scripts/deps.sh bench
	bash bench/run.sh

clean:
	rm -rf build
