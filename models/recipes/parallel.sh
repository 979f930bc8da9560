#!/usr/bin/env bash
# Several recipe runs at once, one GPU each: the student and its ablations at the same
# budget on a multi-GPU machine (docs/results.md shows the commands that made the figures).
#
#   models/recipes/parallel.sh ROOT [recipe args for every run...] -- NAME:"ARGS" ...
#
# Run NAME gets GPU k (its position), the folder ROOT/NAME as --out and its log in
# ROOT/NAME.log; the script waits for all of them and fails when one fails. E.g.
#
#   models/recipes/parallel.sh runs/g3 --unpack-from runs/handoff/A --minutes student=20,ablations=20 -q -- \
#       main:"--stages student" no-distill:"--stages ablations --ablations no-distill"
set -uo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
root=$1
shift
common=()
while [[ $# -gt 0 && $1 != "--" ]]; do
    common+=("$1")
    shift
done
[[ $# -gt 0 ]] && shift
mkdir -p "$root"
gpu=0
pids=()
names=()
for spec in "$@"; do
    name=${spec%%:*}
    extra=${spec#*:}
    [[ $extra == "$spec" ]] && extra=""
    # shellcheck disable=SC2086  # ARGS is a word list on purpose
    CUDA_VISIBLE_DEVICES=$gpu python -m models.recipes.default --out "$root/$name" "${common[@]}" $extra \
        >"$root/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
    echo "[parallel] $name on GPU $gpu (pid $!, log $root/$name.log)" >&2
    gpu=$((gpu + 1))
done
rc=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        echo "[parallel] ${names[$i]} failed; the end of its log:" >&2
        tail -n 20 "$root/${names[$i]}.log" >&2
        rc=1
    fi
done
exit $rc
