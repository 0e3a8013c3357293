#!/usr/bin/env bash
# The measurements behind docs/performance.md, in one sequential run (2 shared cores: never two at once).
# Usage: bench-all.sh OUTDIR [sections...]   sections: pairs distinct ladder load firstopen batches scaling job fullsize
set -u
OUT=$1; shift
mkdir -p "$OUT"
SECTIONS=${*:-pairs ladder load batches scaling job}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
B=${BENCH:-/work/bench}            # builds/ (class snapshots per commit), jobin/ and jobout/
H=$REPO/tools/bench/sidebyside/run.sh
SDT=$REPO/testdata/fixtures/sd-tiny
DIG=$REPO/models/digits-t2i
M=$B/builds/merged
SD=$REPO/bin/spark-diffusion
stamp() { echo "## $(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg) $*"; }

for s in $SECTIONS; do
case $s in
pairs)  # goals 1 and 3 (sd-tiny): sd4j first, so "ratio vs sd4j" is spark-diffusion's images/s over sd4j's per pair
  { stamp pairs
    JOPTS="-Dpairs=7 -Dwarmup=3" $H pairs sd4j=sd4j:$SDT:128 spark-diffusion=sd:$M:$SDT:32 before-perf=sd:$B/builds/base:$SDT:32 \
      -- euler_a:1 lms:1 euler_a:8 lms:8
    stamp end; } > "$OUT/pairs.txt" 2>&1 ;;
distinct)  # goal 1 without embedding-cache hits: a different prompt per row (every call runs the text encoder)
  { stamp distinct
    JOPTS="-Dpairs=7 -Dwarmup=3 -Ddistinct=true" $H pairs sd4j=sd4j:$SDT:128 spark-diffusion=sd:$M:$SDT:32 \
      -- euler_a:1 euler_a:8
    stamp end; } > "$OUT/distinct.txt" 2>&1 ;;
fullsize)  # goal 5: full-size SD-Turbo (random weights) against diffusers + PyTorch, 2 threads, 512x512
  { stamp fullsize
    SD_CLASSES=$M WARMUP=${WARMUP:-first} ${PYTHON:-python3} $REPO/tools/bench/sidebyside/fullsize.py $B/models/sd-turbo-random \
      $B/models/sd-turbo-torch 2 ${CELLS:-1:1,1:2,4:1,4:2} ${PAIRS:-1} 2>&1 | grep -v Warning
    stamp end; } > "$OUT/fullsize.txt" 2>&1 ;;
ladder)  # what each optimisation gave: class snapshots after each step, interleaved in one JVM
  { stamp ladder
    JOPTS="-Dpairs=5 -Dwarmup=2" $H pairs base=sd:$B/builds/base:$SDT:32 runs=sd:$B/builds/runs:$SDT:32 \
      prompts=sd:$B/builds/prompts:$SDT:32 load=sd:$B/builds/load:$SDT:32 javatok=sd:$B/builds/javatok:$SDT:32 \
      merged=sd:$M:$SDT:32 -- euler_a:1 lms:1 euler_a:8
    stamp end; } > "$OUT/ladder.txt" 2>&1 ;;
load)  # goal 2: fresh JVMs, alternating; load time, peak RSS after 10 images
  { stamp load
    for i in 1 2 3 4 5; do
      for e in sd4j=sd4j:$SDT:128 spark-diffusion=sd:$M:$SDT:32 before-perf=sd:$B/builds/base:$SDT:32 \
               load=sd:$B/builds/load:$SDT:32 javatok=sd:$B/builds/javatok:$SDT:32; do
        s0=$(date +%s%N); $H solo $e 10 1 euler_a 2>&1 | grep SOLO; echo "process_ms $(( ($(date +%s%N) - s0) / 1000000 ))"
      done
    done
    stamp end; } > "$OUT/load.txt" 2>&1 ;;
firstopen)  # goal 2 on a machine's first open: the compiled tokenizer (TokenizerCache) deleted before each fresh JVM;
            # BEFORE (class folder) and AFTER (default: common/target/classes) alternate with sd4j, ROUNDS rounds
  { stamp firstopen
    for i in $(seq ${ROUNDS:-8}); do
      for e in sd4j=sd4j:$SDT:128 before=sd:${BEFORE:-$B/builds/base}:$SDT:32 after=sd:${AFTER:-$REPO/common/target/classes}:$SDT:32; do
        rm -rf "${TMPDIR:-/tmp}/spark-diffusion-tokenizers-$(id -un)"
        echo "$i ${e%%=*} $($H solo $e 10 1 euler_a 2>&1 | grep SOLO)"
      done
    done
    stamp end; } > "$OUT/firstopen.txt" 2>&1
  python3 "$REPO/tools/bench/sidebyside/summarize_rounds.py" "$OUT/firstopen.txt" > "$OUT/firstopen-summary.txt" ;;
batches)  # goals 3 and 4 (digits): batch 1 and 8 alternating, at 1 thread (the job's default: spark.task.cpus) and 2
  { stamp batches
    for t in 1 0; do
      JOPTS="-Dsteps=20 -Dguidance=3 -Dpairs=7 -Dwarmup=2 -Dintra=$t" $H batches digits=sd:$M:$DIG:16 ddim 1 8 2>&1 | grep -v "^WARN"
    done
    JOPTS="-Dsteps=20 -Dguidance=3 -Dpairs=7 -Dwarmup=2 -Dintra=1" $H batches digits=sd:$M:$DIG:16 ddim 1 4 2>&1 | grep -v "^WARN"
    stamp end; } > "$OUT/batches.txt" 2>&1 ;;
scaling)  # how cost grows with steps, batch and size: the CLI's bench
  { stamp scaling
    for st in 1 4 16; do echo "### sd-tiny steps $st batch 1"; $SD bench --model $SDT --steps $st --batch 1 --guidance 7.5 --scheduler euler_a --iterations 10 --warmup 3 2>&1 | grep -v "^WARN\|^SLF4J"; done
    for b in 1 2 4 8; do echo "### sd-tiny steps 4 batch $b"; $SD bench --model $SDT --steps 4 --batch $b --guidance 7.5 --scheduler euler_a --iterations 8 --warmup 2 2>&1 | grep -v "^WARN\|^SLF4J"; done
    for px in 32 64 128; do echo "### sd-tiny steps 4 batch 1 size $px"; $SD bench --model $SDT --steps 4 --batch 1 --guidance 7.5 --scheduler euler_a --size $px --iterations 6 --warmup 2 2>&1 | grep -v "^WARN\|^SLF4J"; done
    for b in 1 8; do echo "### digits steps 20 batch $b"; $SD bench --model $DIG --steps 20 --batch $b --guidance 3 --iterations 8 --warmup 2 2>&1 | grep -v "^WARN\|^SLF4J"; done
    echo "### digits steps 20 batch 8 distinct prompts"; $SD bench --model $DIG --steps 20 --batch 8 --guidance 3 --iterations 8 --warmup 2 --distinct-prompts 2>&1 | grep -v "^WARN\|^SLF4J"
    stamp end; } > "$OUT/scaling.txt" 2>&1 ;;
job)  # rows through the job (digits, local[2], batch_size 4 (the default), JOB_STEPS steps (default 20))
  { stamp job
    for n in 10 1000 10000; do
      rm -rf $B/jobout/rows$n
      s0=$(date +%s%N)
      $SD job --model $DIG --input $B/jobin/rows$n.jsonl --input-format json --output $B/jobout/rows$n \
        --master 'local[2]' --steps ${JOB_STEPS:-20} --guidance 3 > $OUT/job-$n.log 2>&1
      rc=$?
      ms=$(( ($(date +%s%N) - s0) / 1000000 ))
      echo "rows $n rc $rc process_ms $ms $(cut -d' ' -f1-3 /proc/loadavg)"
      grep -i "images/s\|generated\|done\|elapsed" $OUT/job-$n.log | tail -5
    done
    stamp end; } > "$OUT/job.txt" 2>&1 ;;
esac
done
