#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs a libFuzzer binary with its arguments: meson's test() does not take a
# custom target (the fuzzer is built by clang outside meson's C compiler).
set -eu
fuzzer=$1
shift
if [ ! -x "$fuzzer" ]; then
    echo "run_fuzzer: $fuzzer is missing: build it first (ninja)" >&2
    exit 1
fi
exec "$fuzzer" "$@"
