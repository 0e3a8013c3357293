#!/usr/bin/env bash
# The figures of docs/quality.md ("In the job"), from bin/spark-diffusion job (build first: mvn -B -DskipTests package):
#   tools/bench/quality_filter.sh share [ROWS]            share of digits images the classifier filter
#                                                         (label_matches == true) keeps at guidance 1, 3 and 5
#   tools/bench/quality_filter.sh speed [ROWS] [ROUNDS]   images/s of the generation stage without scorers, with the
#                                                         classifier, with the classifier and the tiny CLIP scorer,
#                                                         interleaved round by round (guidance 3, no filter)
# Every run: local[2], 2 partitions, models/digits-t2i, 20 steps, batch 8, prompts "a handwritten digit zero".."nine"
# in turn with seeds 0..ROWS-1 (defaults: 500 rows, 3 rounds); the figures come from each run's summary line.
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODE="${1:?share or speed}"
ROWS="${2:-500}"
ROUNDS="${3:-3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/quality-filter.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
WORDS=(zero one two three four five six seven eight nine)
for ((i = 0; i < ROWS; i++)); do
  echo "{\"id\":\"q$i\",\"prompt\":\"a handwritten digit ${WORDS[i % 10]}\",\"seed\":$i}"
done > "$WORK/rows.jsonl"

job() { # job GUIDANCE [--set k=v ...]: prints the run's summary line
  local guidance="$1"
  shift
  "$HOME_DIR/bin/spark-diffusion" job --model "$HOME_DIR/models/digits-t2i" --input "$WORK/rows.jsonl" \
    --input-format json --output "$WORK/out" --master 'local[2]' --partitions 2 --batch-size 8 --steps 20 \
    --guidance "$guidance" --overwrite --set progress.log_interval_seconds=600 "$@" 2>/dev/null | grep '^written'
}
CLASSIFIER=(--set "quality.classifier=$HOME_DIR/models/digits-classifier")
CLIP=(--set "quality.clip_scorer=$HOME_DIR/testdata/fixtures/quality/clip-tiny")

case "$MODE" in
  share)
    for g in 1 3 5; do
      line=$(job "$g" "${CLASSIFIER[@]}" --set 'quality.filters=label_matches == true')
      kept=$(sed -E 's/^written ([0-9]+),.*/\1/' <<< "$line")
      echo "guidance $g: kept $kept of $ROWS ($(awk -v k="$kept" -v n="$ROWS" 'BEGIN{printf "%.1f", 100*k/n}')%); $line"
    done
    ;;
  speed)
    for ((r = 1; r <= ROUNDS; r++)); do
      echo "round $r, no scorers: $(job 3)"
      echo "round $r, classifier: $(job 3 "${CLASSIFIER[@]}")"
      echo "round $r, classifier + tiny CLIP: $(job 3 "${CLASSIFIER[@]}" "${CLIP[@]}")"
    done
    ;;
  *)
    echo "usage: $0 share|speed [ROWS] [ROUNDS]" >&2
    exit 2
    ;;
esac
