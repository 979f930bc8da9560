#!/usr/bin/env bash
# The default recipe in one GPU lease whose commands last at most 10 minutes each
# (docs/training.md, "One lease"). The recipe runs detached (setsid) on the leased
# machine; each command waits on it for up to LEASE_SECONDS, then packs the stages that
# have finished into $OUT (weights-only tar parts, 15 MiB each) so they come back.
#
#   models/recipes/lease.sh start RECIPE-ARGS...   copy the code, install carried wheels (.whl),
#                                                  start the recipe into LEASE_DIR/run, wait
#   models/recipes/lease.sh wait [STAGES]          wait; then pack the finished STAGES (vae,teacher)
#   models/recipes/lease.sh finish [STAGES]        wait for the recipe to end; pack STAGES; the log
#
# The next command must reach the machine while it is still warm: the run lives in
# LEASE_DIR (default /tmp/lease), which a fresh machine does not have.
set -u
dir=${LEASE_DIR:-/tmp/lease}
secs=${LEASE_SECONDS:-560}
out=${OUT:?OUT must name the folder that comes back}
t0=$(date +%s)

running() { [ ! -f "$dir/rc" ] && [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }

wait_recipe() {  # until the recipe ends or the command's time is up
    while running && [ $(($(date +%s) - t0)) -lt "$secs" ]; do sleep 5; done
}

pack() {  # the finished stages among $1, into $OUT
    [ -n "${1:-}" ] || return 0
    (cd "$dir/src" && python3 -m models.recipes.default --out "$dir/run" --stages "" --pack "$1" \
        --pack-to "$out" -q) || echo "[lease] packing $1 failed"
}

report() {
    echo "[lease] $(($(date +%s) - t0)) s into this command; recipe $(running && echo running || echo "ended")"
    [ -f "$dir/rc" ] && echo "[lease] recipe exit status $(cat "$dir/rc")"
    grep -v '^\s*$' "$dir/log" | tail -n 40
    nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
}

export PYTHONUNBUFFERED=1 PYTHONPATH="/tmp/site:$dir/src"
case "${1:-}" in
start)
    shift
    if running; then echo "[lease] a recipe is already running in $dir"; exit 1; fi
    mkdir -p "$dir/src"
    # a snapshot of the code: later commands re-send the working tree, the run must not see it change
    cp -a . "$dir/src/"
    if ls .whl/*.whl >/dev/null 2>&1; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl || exit 1
    fi
    rm -f "$dir/rc" "$dir/pid"
    (cd "$dir/src" && setsid bash -c 'echo $$ >"$0/pid"; python3 -m models.recipes.default --out "$0/run" "$@"; echo $? >"$0/rc"' \
        "$dir" "$@" >"$dir/log" 2>&1 </dev/null &)
    sleep 2
    wait_recipe; report
    ;;
wait)
    wait_recipe; pack "${2:-}"; report
    ;;
finish)
    wait_recipe; pack "${2:-}"; cp "$dir/log" "$out/recipe.log"; report
    ;;
*)
    echo "usage: $0 start RECIPE-ARGS... | wait [STAGES] | finish [STAGES]"; exit 2
    ;;
esac
