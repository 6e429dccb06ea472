#!/usr/bin/env bash
# sqlite3(1) building a 200,000-row table with two indexes, querying it
# (count, sums, group by, indexed lookups and ranges), updating and deleting
# through the indexes, then checking its integrity: the same output, and the
# same database file byte for byte, under hakmem and under glibc.
. "$(dirname "$0")/lib.sh"
require sqlite3

# Rows come from a recursive CTE, inside SQLite, so building them is fast;
# every value is a function of the row number.  No fsync: the test is about
# memory, not the disk.
cat >"$WORK/script.sql" <<'EOF'
PRAGMA synchronous = OFF;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO t SELECT i, i % 97, printf('n%07d', i * 7919 % 200003), (i * 31 % 1000) / 10.0,
                     substr(hex(zeroblob(i % 120)), 1, i % 200) FROM n;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp_val ON t(grp, val);
SELECT count(*), sum(grp), total(val), sum(length(note)), count(DISTINCT name) FROM t;
SELECT grp, count(*), total(val), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 12;
SELECT id, grp, val FROM t WHERE name = 'n0012345';
SELECT id, name FROM t WHERE name BETWEEN 'n0100000' AND 'n0100100' ORDER BY name;
SELECT count(*), total(val) FROM t WHERE grp = 42 AND val > 50.0;
SELECT name FROM t ORDER BY name LIMIT 5 OFFSET 100000;
UPDATE t SET note = note || note, val = val + 1 WHERE grp IN (3, 5, 7);
DELETE FROM t WHERE id % 10 = 0;
SELECT count(*), total(val), sum(length(note)) FROM t;
PRAGMA integrity_check;
EOF

run_hakmem "$WORK/err" sqlite3 "$WORK/hakmem.db" <"$WORK/script.sql" >"$WORK/hakmem.out"
sqlite3 "$WORK/glibc.db" <"$WORK/script.sql" >"$WORK/glibc.out"

if [ "$(tail -1 "$WORK/hakmem.out")" != ok ]; then
  echo "FAIL: integrity_check under hakmem did not say ok:" >&2
  tail -5 "$WORK/hakmem.out" >&2
  exit 1
fi
if [ "$(head -1 "$WORK/hakmem.out" | cut -d'|' -f1)" != 200000 ]; then
  echo "FAIL: expected 200000 rows, got: $(head -1 "$WORK/hakmem.out")" >&2
  exit 1
fi
same_output "sqlite3 queries" "$WORK/hakmem.out" "$WORK/glibc.out"
same_output "sqlite3 database file" "$WORK/hakmem.db" "$WORK/glibc.db"
