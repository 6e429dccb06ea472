#!/usr/bin/env bash
# redis-server under hakmem, on loopback: redis-benchmark against it, then a
# Lua script that builds strings, hashes, sorted sets and lists (and grows
# one string past 3 MB), then queries whose answers are compared with the
# same run against redis-server on glibc.  The server must shut down cleanly
# (SHUTDOWN NOSAVE, exit status 0).
. "$(dirname "$0")/lib.sh"
require redis-server

server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

port=

# start_server NAME [ENV...]: starts redis-server with the given environment
# on a free port, its log in $WORK/NAME.log and stderr in $WORK/NAME.err,
# and waits until it answers.
start_server() {
  local name=$1
  shift
  local attempt
  for attempt in $(seq 0 19); do
    port=$((20000 + ($$ + attempt * 7) % 10000))
    # Someone already listening: another port.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    env "$@" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --daemonize no --dir "$WORK" --logfile "$WORK/$name.log" 2>"$WORK/$name.err" &
    server_pid=$!
    local tries
    for tries in $(seq 1 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then return 0; fi
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    # It exited (the port was taken meanwhile) or never answered.
    stop_server
    if ! grep -q 'Address already in use' "$WORK/$name.log" 2>/dev/null; then
      echo "FAIL: redis-server ($name) did not start; its log and stderr:" >&2
      cat "$WORK/$name.log" "$WORK/$name.err" >&2 || true
      exit 1
    fi
  done
  echo "FAIL: no free port for redis-server" >&2
  exit 1
}

# stop_cleanly NAME: SHUTDOWN NOSAVE, then the server must exit 0 within 10 s.
stop_cleanly() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  local tries
  for tries in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: redis-server ($1) still running 10 s after SHUTDOWN NOSAVE" >&2
    exit 1
  fi
  local status=0
  wait "$server_pid" || status=$?
  server_pid=
  if [ "$status" -ne 0 ]; then
    echo "FAIL: redis-server ($1) exited with status $status; its log and stderr:" >&2
    tail -20 "$WORK/$1.log" "$WORK/$1.err" >&2
    exit 1
  fi
}

# The data: every value a function of its key's number.
build_script='
for i = 1, 30000 do
  redis.call("SET", "str:" .. i, string.rep(string.char(97 + i % 26), i % 700))
  redis.call("HSET", "hash:" .. (i % 500), "f" .. i, i * 3)
  redis.call("ZADD", "zset:" .. (i % 50), (i * 7919) % 100003, "m" .. i)
  redis.call("RPUSH", "list:" .. (i % 100), string.rep("x", i % 90))
  if i % 3 == 0 then redis.call("DEL", "str:" .. (i - 1)) end
end
redis.call("SET", "big", string.rep("b", 100000))
for i = 1, 30 do redis.call("APPEND", "big", string.rep(string.char(65 + i % 26), 100000)) end
redis.call("SETRANGE", "big", 3500000, "end")
return redis.call("DBSIZE")'

# scenario: what is compared; the benchmark's timings are not.
scenario() {
  local cli=(redis-cli -p "$port")
  redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -P 16 -t set,get,lpush,lpop,incr -d 64 \
    >"$WORK/benchmark.out"
  local tests
  tests=$(grep -cE '(SET|GET|LPUSH|LPOP|INCR): [0-9.]+ requests per second' "$WORK/benchmark.out" || true)
  if [ "$tests" -ne 5 ]; then
    echo "FAIL: redis-benchmark did not run its 5 tests:" >&2
    cat "$WORK/benchmark.out" >&2
    exit 1
  fi
  "${cli[@]}" get counter:__rand_int__
  "${cli[@]}" strlen key:__rand_int__
  "${cli[@]}" eval "$build_script" 0
  "${cli[@]}" set greeting "hello from hakmem"
  "${cli[@]}" get greeting
  "${cli[@]}" mget str:1 str:2 str:4 str:29999
  "${cli[@]}" strlen str:698
  "${cli[@]}" hlen hash:7
  "${cli[@]}" hget hash:7 f1007
  "${cli[@]}" zcard zset:3
  "${cli[@]}" zrange zset:3 0 4 withscores
  "${cli[@]}" llen list:42
  "${cli[@]}" lindex list:42 -1
  "${cli[@]}" strlen big
  "${cli[@]}" getrange big 299998 300003
  "${cli[@]}" dbsize
}

for allocator in hakmem glibc; do
  if [ "$allocator" = hakmem ]; then
    start_server hakmem HAKMEM_VERBOSE=1 LD_PRELOAD="$HAKMEM_PRELOAD"
  else
    start_server glibc
  fi
  scenario >"$WORK/$allocator.out"
  if [ "$(tail -1 "$WORK/$allocator.out")" -le 0 ]; then
    echo "FAIL: DBSIZE under $allocator is not positive" >&2
    exit 1
  fi
  stop_cleanly "$allocator"
done

hakmem_stderr_ok "$WORK/hakmem.err" redis-server
if [ "$(sed -n 5p "$WORK/hakmem.out")" != "hello from hakmem" ]; then
  echo "FAIL: GET greeting under hakmem: $(sed -n 5p "$WORK/hakmem.out")" >&2
  exit 1
fi
same_output "redis" "$WORK/hakmem.out" "$WORK/glibc.out"
cat "$WORK/hakmem.out"
