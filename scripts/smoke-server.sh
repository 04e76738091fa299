#!/usr/bin/env bash
# Start a server, wait until URL answers, stop it, and check nothing it started is left.
#
#   scripts/smoke-server.sh URL TIMEOUT_SECONDS COMMAND [ARGS...]
#   scripts/smoke-server.sh http://127.0.0.1:5055/health 180 make ui UI_PORT=5055
#
# The command runs in a session of its own, so every process it starts
# (make, the server, its workers) can be stopped together by that session's id.
set -euo pipefail
set +m  # no job control: the background job below must not lead a process group,
        # so that setsid makes it a session leader in place instead of forking

if [ $# -lt 3 ]; then
    echo "usage: $0 URL TIMEOUT_SECONDS COMMAND [ARGS...]" >&2
    exit 2
fi
url=$1
timeout=$2
shift 2

log=$(mktemp "${TMPDIR:-/tmp}/smoke-server.XXXXXX.log")
setsid "$@" >"$log" 2>&1 </dev/null &
sid=$!  # setsid forks nothing when run from a background job: its pid is the session id

# processes of the session still alive (a zombie is gone, only not yet reaped)
left() { ps -o pid=,stat=,args= -s "$sid" 2>/dev/null | awk '$2 !~ /^Z/' || true; }

stop() {
    kill -TERM -- "-$sid" 2>/dev/null || true
    for _ in $(seq 1 30); do
        [ -z "$(left)" ] && return 0
        sleep 1
    done
    echo "still running 30 s after SIGTERM, sending SIGKILL:" >&2
    left >&2
    kill -KILL -- "-$sid" 2>/dev/null || true
    sleep 1
}

start=$SECONDS
answered=""
while [ $((SECONDS - start)) -lt "$timeout" ]; do
    if ! kill -0 "$sid" 2>/dev/null; then
        echo "the server exited before answering; its log ($log):" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
    if code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url") && [ "$code" = 200 ]; then
        answered="yes"
        break
    fi
    sleep 1
done

if [ -n "$answered" ]; then
    echo "answered: $url -> HTTP 200 after $((SECONDS - start)) s"
else
    echo "no answer from $url within $timeout s; log ($log):" >&2
    tail -n 40 "$log" >&2
fi

stop
wait "$sid" 2>/dev/null || true
if [ -n "$(left)" ]; then
    echo "left running:" >&2
    left >&2
    exit 1
fi
echo "stopped: no process of session $sid is left"
rm -f "$log"
[ -n "$answered" ]
