#!/usr/bin/env bash
# End-to-end check of the export tool against the Java engine, on tiny random pipelines (no download):
#   1. export_onnx.py --dry-run OUT: for every family, a tiny diffusers pipeline is saved as a folder, loaded back
#      as a user's folder is, exported to OUT/<pipeline>-tiny, and reference cases are recorded with diffusers;
#   2. bin/spark-diffusion validate on every exported folder: each recorded case must reproduce diffusers within
#      the fixtures' tolerance (2e-3 on final pixels).
# It is not part of `mvn -B verify` (the build needs no Python). Run it after changing the exporter or the engine.
#
# Needs: the project built (mvn -B verify, or mvn -B -DskipTests package), and a Python that has
# tools/export/requirements.txt installed (pass it as PYTHON=...; with diffusers from sources, set PYTHONPATH).
#
# Usage: tools/export/selfcheck.sh [OUT]        (default OUT: out/export-selfcheck)
#        PYTHON=/path/to/venv/bin/python tools/export/selfcheck.sh
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/out/export-selfcheck}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import torch, diffusers, transformers, onnx, onnxruntime' 2>/dev/null; then
  echo "error: $PYTHON cannot import torch, diffusers, transformers, onnx and onnxruntime;" \
       "install tools/export/requirements.txt or pass PYTHON=/path/to/venv/bin/python" >&2
  exit 2
fi

echo "== export (dry run) into $OUT"
mkdir -p "$OUT"
failed=0
"$PYTHON" "$ROOT/tools/export/export_onnx.py" --dry-run "$OUT" > "$OUT/export.log" 2>&1 || failed=1
grep -E '^\[ *[0-9]' "$OUT/export.log" || true
[ "$failed" -eq 0 ] || echo "   -> the export failed for some pipeline (full output in $OUT/export.log)"
# weights stored as float16 in float32 graphs (--dtype fp16-weights), with a case on the same rounded weights
echo "== export tiny:sd --dtype fp16-weights into $OUT/sd-fp16w-tiny"
"$PYTHON" "$ROOT/tools/export/export_onnx.py" tiny:sd "$OUT/sd-fp16w-tiny" --dtype fp16-weights \
  --record-case f16w_euler --scheduler euler --steps 4 --guidance 7.5 > "$OUT/export-fp16w.log" 2>&1 \
  || { echo "   -> the fp16-weights export failed (full output in $OUT/export-fp16w.log)"; failed=1; }
for dir in "$OUT"/*-tiny; do
  [ -d "$dir" ] || continue
  echo "== validate $dir"
  rc=0
  "$ROOT/bin/spark-diffusion" validate --model "$dir" > "$dir.validate.log" 2>&1 || rc=$?
  grep -E '^(OK|WARN|FAIL) +case|^FAIL|^summary' "$dir.validate.log" || true
  # validate exits 0 when the folder is usable and every recorded case reproduces diffusers
  if [ "$rc" -ne 0 ]; then echo "   -> FAILED (exit code $rc; full output in $dir.validate.log)"; failed=1; fi
done
expected="sd sd-inpaint sd-lcm sdxl ddpm t2v svd kandinsky sd-fp16w"
for name in $expected; do
  [ -d "$OUT/$name-tiny/cases" ] || { echo "missing: $OUT/$name-tiny (its export failed, see above)"; failed=1; }
done
if [ "$failed" -ne 0 ]; then echo "selfcheck: FAILED"; exit 1; fi
echo "selfcheck: every exported pipeline reproduces diffusers"
