#!/usr/bin/env bash
# Runs every ```sh block of a Markdown file, with the build's hakmem launcher
# on PATH and its library as HAKMEM_LIB: the commands in the docs must work as
# written.  Each block runs in bash -e; its output is shown.
set -euo pipefail
doc=$1
launcher_dir=$2
export HAKMEM_LIB=$3
export PATH="$launcher_dir:$PATH"

blocks=0
block=""
in_block=false
while IFS= read -r line; do
  if ! $in_block && [ "$line" = '```sh' ]; then
    in_block=true
    block=""
  elif $in_block && [ "$line" = '```' ]; then
    in_block=false
    blocks=$((blocks + 1))
    echo "\$ $block"
    if ! bash -e -c "$block" 2>&1; then
      echo "FAIL: block $blocks of $doc failed" >&2
      exit 1
    fi
  elif $in_block; then
    block+="$line"$'\n'
  fi
done <"$doc"
if [ "$blocks" -eq 0 ]; then
  echo "FAIL: no sh blocks in $doc" >&2
  exit 1
fi
echo "docs_commands: $blocks blocks of $doc ran"
