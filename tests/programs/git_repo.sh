#!/usr/bin/env bash
# git(1) building a repository of 50 commits under hakmem, then checking it
# (log, fsck, repack), compared with the same steps on glibc.  Author and
# committer dates are fixed, so both repositories get the same hashes.
. "$(dirname "$0")/lib.sh"
require git

export HOME="$WORK" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=hakmem GIT_AUTHOR_EMAIL=hakmem@example.invalid
export GIT_COMMITTER_NAME=hakmem GIT_COMMITTER_EMAIL=hakmem@example.invalid
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"

# The whole scenario; its stdout is what gets compared.
scenario() {
  local repo=$1
  git init -q -b main "$repo"
  cd "$repo"
  for i in $(seq 1 50); do
    seq "$i" 3 $((i * 400)) >"file$((i % 7)).txt"
    printf 'commit %d\n' "$i" >>log.txt
    git add -A
    git commit -q -m "commit $i"
  done
  git log --oneline | wc -l
  git log -5 --format='%H %s'
  git fsck --full --strict
  git repack -adq
  git count-objects -v | grep -E '^(count|in-pack|packs):'
  git fsck --full --strict
  git rev-parse HEAD
}

run_hakmem "$WORK/err" bash -c "set -euo pipefail; $(declare -f scenario); scenario '$WORK/hakmem-repo'" >"$WORK/hakmem.out"
(scenario "$WORK/glibc-repo") >"$WORK/glibc.out"
if [ "$(head -1 "$WORK/hakmem.out")" != 50 ]; then
  echo "FAIL: expected 50 commits, got: $(head -1 "$WORK/hakmem.out")" >&2
  exit 1
fi
same_output "git" "$WORK/hakmem.out" "$WORK/glibc.out"
