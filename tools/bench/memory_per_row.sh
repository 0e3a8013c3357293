#!/usr/bin/env bash
# Peak memory (resident set of the whole JVM: heap, ONNX Runtime, Spark) of a one-row job at several sizes, for the
# table in docs/job.md. Each size runs in a fresh `bin/spark-diffusion job --master local[1]`, measured by
# /usr/bin/time -v; the smallest size is the baseline of the JVM, Spark and the loaded model.
#
# Usage: tools/bench/memory_per_row.sh MODEL MODE SIZE...      (after mvn -B -DskipTests package)
#   tools/bench/memory_per_row.sh testdata/fixtures/sd-inpaint-tiny inpaint 64 128 192 256
#   tools/bench/memory_per_row.sh testdata/fixtures/sd-tiny txt2img 64 128 256 512
# MODE txt2img sets width and height; img2img and inpaint use testdata/assets/images/astronaut_512.jpg (and its
# mask) shrunk to the size by images.max_side. Mind the machine's memory: memory grows with the square of the pixels
# for models with attention at high resolution (see docs/job.md).
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MODEL="$1"; MODE="$2"; shift 2
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
printf '{"id":"row","prompt":"a red brick wall","image":"%s","mask":"%s"}\n' \
  "$ROOT/testdata/assets/images/astronaut_512.jpg" "$ROOT/testdata/assets/images/astronaut_mask_512.png" > "$WORK/in.jsonl"
echo "size,max_rss_mb"
for SIZE in "$@"; do
  ARGS=(job --model "$MODEL" --input "$WORK/in.jsonl" --input-format json --output "$WORK/out-$SIZE" --master 'local[1]'
        --steps 2 --set "mode=$MODE" --set "images.allowed_roots=$ROOT/testdata/assets/images"
        --set max_error_fraction=1)
  if [ "$MODE" = txt2img ]; then ARGS+=(--width "$SIZE" --height "$SIZE"); else ARGS+=(--set "images.max_side=$SIZE"); fi
  /usr/bin/time -v "$ROOT/bin/spark-diffusion" "${ARGS[@]}" > "$WORK/log-$SIZE" 2>&1 || { grep -m 3 -i "error" "$WORK/log-$SIZE" >&2; exit 1; }
  RSS_KB=$(grep "Maximum resident set size" "$WORK/log-$SIZE" | awk '{print $NF}')
  echo "$SIZE,$((RSS_KB / 1024))"
done
