#!/usr/bin/env bash
# clang-tidy (allow-list in .clang-tidy) over Latchkey's own sources, using a build's
# compile_commands.json. Usage: scripts/lint.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'src/*.cpp' 'sdk/*.cpp' | grep -v '_test.cpp$')
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet
echo "lint: ok (${#files[@]} files)"
