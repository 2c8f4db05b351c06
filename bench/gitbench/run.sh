#!/usr/bin/env bash
# gitsign's benchmarks with real git against the embedded stack: each figure
# printed beside its baseline from the same run (see gitbench_test.go).
#   bench/gitbench/run.sh                      # 1,000 signed commits, 30 signing runs
#   GITBENCH_COMMITS=300 bench/gitbench/run.sh # quicker
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local GITBENCH=1
exec go test -run TestGitBench -v -count=1 -timeout 30m ./bench/gitbench "$@"
