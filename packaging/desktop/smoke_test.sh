#!/usr/bin/env bash
# Start the frozen app offscreen, run one try-on on the bundled example, save a screenshot.
#   packaging/desktop/smoke_test.sh [--bundle DIR]   (default: the embedded bundle)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP="$ROOT/build/desktop/dist/mobile-vton-studio/mobile-vton-studio"
[ -x "$APP" ] || { echo "not built: run packaging/desktop/build.sh first" >&2; exit 2; }
OUT=$(mktemp -d)
export QT_QPA_PLATFORM=offscreen
"$APP" --screenshot "$OUT/frozen-tryon.png" --example --run --data-dir "$OUT/home" "$@"
test -s "$OUT/frozen-tryon.png"
echo "frozen app ran a try-on offscreen: $OUT/frozen-tryon.png"
