# troupe: the two commands are `make run` and `make test`.
# Everything is built with meson/ninja; this file only names the steps.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN     ?= 127.0.0.1:8080
DATA       ?= ./data

.PHONY: all deps build build-asan web run test test-unit test-api bench fuzz format clean

all: build

deps:
	@scripts/setup

# Reconfigure each time: test, migration and web app files are found by globbing.
build: deps web
	@if [ -f $(BUILD)/build.ninja ]; then meson setup --reconfigure $(BUILD) >/dev/null; \
	else meson setup $(BUILD) --buildtype=debugoptimized >/dev/null; fi
	ninja -C $(BUILD) -j $(JOBS)
	@test -x $(BUILD)/troupe

# ASan+UBSan with clang: the second compiler's -Werror build, and the fuzzers.
build-asan: deps web
	@if [ -f $(ASAN_BUILD)/build.ninja ]; then meson setup --reconfigure $(ASAN_BUILD) >/dev/null; \
	else CC=clang meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzz=true >/dev/null; fi
	ninja -C $(ASAN_BUILD) -j $(JOBS)

# The web app (web/dist), embedded by the build; skipped when web/ is unchanged.
web: deps
	@scripts/build-web

run: build web
	@scripts/run-serve --listen $(LISTEN) --data $(DATA)

test: build build-asan web
	@tests/run

bench: build
	@bench/run

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
