#!/usr/bin/env bash
# A fleet on one machine: one pipyx repo and two workers that run the codebase it serves. Ctrl-C stops all three.
#
#   samples/fleet/run.sh
#
# Environment (all optional):
#   REPO_PORT       the repo's port (default 6060)
#   WORKER_PORTS    the workers' ports, comma-separated (default 8001,8002); one worker per port
#   CODEBASE        the codebase the workers run (default gateway)
#   FLEET_DIR       where the repo's database and the workers' caches go (default /tmp/pipyx-fleet)
#   PIPYX_REPO_TOKEN  the repo's token; when unset, one is made up and printed
#   PIPYX           how to run pipyx (default: pipyx; e.g. "python3 -m pipyx")
#   STOP_TIMEOUT    seconds each process gets to finish its requests when stopping, before SIGKILL (default 15)
set -euo pipefail

REPO_PORT=${REPO_PORT:-6060}
WORKER_PORTS=${WORKER_PORTS:-8001,8002}
CODEBASE=${CODEBASE:-gateway}
FLEET_DIR=${FLEET_DIR:-/tmp/pipyx-fleet}
STOP_TIMEOUT=${STOP_TIMEOUT:-15}
read -r -a PIPYX_CMD <<< "${PIPYX:-pipyx}"
REPO=http://127.0.0.1:$REPO_PORT

if [ -z "${PIPYX_REPO_TOKEN:-}" ]; then
    PIPYX_REPO_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    echo "fleet: no PIPYX_REPO_TOKEN given; this run's token is made up. To deploy, in another terminal:"
    echo "    export PIPYX_REPO_TOKEN=$PIPYX_REPO_TOKEN"
fi
export PIPYX_REPO_TOKEN                 # the repo and the workers take it from here, not from their command line
mkdir -p "$FLEET_DIR"

pids=()
names=()

# stop_pids PID...: SIGTERM to each, then waits for them; one still there after STOP_TIMEOUT seconds gets SIGKILL.
stop_pids() {
    local pid waited=0
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "fleet: pid $pid did not stop in ${STOP_TIMEOUT}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

stop() {
    trap - INT TERM EXIT
    echo "fleet: stopping ${names[*]}"
    # The workers first, while the repo still answers them, then the repo.
    if [ "${#pids[@]}" -gt 1 ]; then stop_pids "${pids[@]:1}"; fi
    if [ "${#pids[@]}" -gt 0 ]; then stop_pids "${pids[0]}"; fi
    echo "fleet: stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# start NAME COMMAND...: runs COMMAND in the background, each line of its output prefixed with [NAME]. setsid gives it
# a session of its own, so Ctrl-C reaches only this script, which then stops the processes in order.
SETSID=$(command -v setsid || true)
start() {
    local name=$1
    shift
    $SETSID "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
    pids+=($!)
    names+=("$name")
    echo "fleet: $name is pid $!"
}

start repo "${PIPYX_CMD[@]}" --repo-dir "$FLEET_DIR/repo" --listen "127.0.0.1:$REPO_PORT"

# Wait for the repo to answer before starting the workers (they would wait for it anyway, retrying).
for _ in $(seq 100); do
    curl -s -o /dev/null "$REPO/api/v1/codebases" && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "fleet: the repo did not start" >&2; exit 1; }
    sleep 0.1
done

n=0
IFS=, read -r -a ports <<< "$WORKER_PORTS"
for port in "${ports[@]}"; do
    n=$((n + 1))
    # Each worker gets its own port and name through its environment, and its own cache, as on its own machine.
    PORT=$port WORKER_NAME=w$n start "w$n" "${PIPYX_CMD[@]}" "$REPO/repo/$CODEBASE/" --repo-cache "$FLEET_DIR/cache-w$n"
done

echo "fleet: repo on $REPO, workers on ports $WORKER_PORTS running codebase $CODEBASE; Ctrl-C stops them"
echo "fleet: deploy with: python3 samples/fleet/deploy.py --repo $REPO --name $CODEBASE --workers ${#ports[@]} samples/fleet/codebase"

# Run until Ctrl-C, or until one of them exits on its own.
while true; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "fleet: ${names[$i]} exited; stopping the others" >&2
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
