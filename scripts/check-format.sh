#!/usr/bin/env bash
# clang-format check over every C++ file (or --fix to rewrite them in place).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' | sort)
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2> /tmp/latchkey-format.$$; then
  grep -E '^[^ ].*(warning|error):' /tmp/latchkey-format.$$ | cut -d: -f1 | sort -u | sed 's/^/format: needs clang-format: /'
  rm -f /tmp/latchkey-format.$$
  echo "format: run 'make format'"
  exit 1
fi
rm -f /tmp/latchkey-format.$$
echo "format: ok (${#files[@]} files)"
