#!/usr/bin/env bash
# Submits the spark-diffusion generation job (io.sparkdiffusion.jobs.GenerateJob) to a Spark 4.2 cluster with GPUs:
# one GPU per executor, one task per GPU, every executor keeping one pipeline resident on its GPU.
#
#   deploy/spark-submit-gpu.sh --config job.yaml [job flags: --input URI --output URI --set key=value ...]
#   deploy/spark-submit-gpu.sh --help
#
# Everything after the script name goes to the job (see docs/job.md and conf/spark-diffusion.yaml). Leave `master`
# out of the job's YAML: a master set there overrides spark-submit's --master.
#
# Build the application jar with the CUDA build of ONNX Runtime first (a plain `mvn package` gives the CPU build):
#   mvn -B -Pgpu -DskipTests package      ->  jobs/target/spark-diffusion-jobs-<version>-app.jar
# The jar holds the job, the engine, ONNX Runtime (with its CUDA provider), the DJL tokenizer, picocli and snakeyaml;
# Spark, Hadoop, the AWS SDK, log4j, slf4j and Jackson come from the cluster. The executors' machines need the
# NVIDIA driver, CUDA 12 and cuDNN 9 libraries (see deploy/yarn-emr.md).
#
# Settings below are variables with defaults; override them from the environment, e.g.
#   MASTER=yarn DEPLOY_MODE=cluster NUM_EXECUTORS=8 deploy/spark-submit-gpu.sh --config job.yaml
# DRY_RUN=1 prints the spark-submit command instead of running it.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/spark-submit-gpu.sh [--help] JOB_ARGS...

Submits io.sparkdiffusion.jobs.GenerateJob with one GPU per executor and one task per GPU.
JOB_ARGS are the job's own flags, e.g.:
  --config job.yaml --input s3a://bucket/prompts/ --output s3a://bucket/out/run-1 --set runtime.provider=cuda

Environment (defaults in brackets):
  SPARK_HOME              Spark 4.2 installation [/opt/spark]
  APP_JAR                 application jar, built with -Pgpu [jobs/target/spark-diffusion-jobs-*-app.jar]
  MASTER                  yarn, spark://host:7077, k8s://https://... [yarn]
  DEPLOY_MODE             client or cluster [client]; in cluster mode --config FILE is shipped with --files
  NUM_EXECUTORS           executors = GPUs used [2]
  EXECUTOR_CORES          cores per executor [8]
  EXECUTOR_MEMORY         executor heap [16g]
  EXECUTOR_MEMORY_OVERHEAD  off-heap room for ONNX Runtime and CUDA [8g]
  DRIVER_MEMORY           [4g]
  GPUS_PER_EXECUTOR       [1]; 0 submits a CPU-only job (no GPU resource settings)
  TASK_GPU_AMOUNT         GPU share per task [1]; 0.5 lets two tasks share a GPU and its resident pipeline
  TASK_CPUS               cores per task [EXECUTOR_CORES / (GPUS_PER_EXECUTOR / TASK_GPU_AMOUNT)]
  GPU_DISCOVERY_SCRIPT    path on every executor host [$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh]
  LOG4J_CONF              log4j2.xml shipped with --files [conf/log4j2.xml]
  DJL_CACHE_DIR_EXECUTOR  where executors unpack the tokenizer's native library [/tmp/spark-diffusion-djl]
  S3A_JARS_DIR            a folder of the s3a jars to pass with --jars instead of --packages (no network at
                          submit); "none" when the cluster has its own S3 connector (EMR)
  SPARK_SUBMIT            the spark-submit command [$SPARK_HOME/bin/spark-submit]
  DRY_RUN=1               print the command, do not run it
EOF
}

if [ "$#" -eq 0 ]; then
  usage >&2
  exit 2
fi
for a in "$@"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then
    usage
    exit 0
  fi
done

# ---- paths ---------------------------------------------------------------------------------------------------
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARK_HOME="${SPARK_HOME:-/opt/spark}"
SPARK_SUBMIT="${SPARK_SUBMIT:-$SPARK_HOME/bin/spark-submit}"
APP_JAR="${APP_JAR:-$(ls "$HOME_DIR"/jobs/target/spark-diffusion-jobs-*-app.jar 2>/dev/null | head -n 1 || true)}"
LOG4J_CONF="${LOG4J_CONF:-$HOME_DIR/conf/log4j2.xml}"
# Spark ships this script in its distribution (examples/src/main/scripts/getGpusResources.sh): it runs nvidia-smi
# and prints the GPU indices as {"name": "gpu", "addresses": [...]}. It must exist at this path on every executor
# host (or in the executor image). The job uses the address Spark assigns to a task as the CUDA device ordinal.
GPU_DISCOVERY_SCRIPT="${GPU_DISCOVERY_SCRIPT:-$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh}"
DJL_CACHE_DIR_EXECUTOR="${DJL_CACHE_DIR_EXECUTOR:-/tmp/spark-diffusion-djl}"
S3A_JARS_DIR="${S3A_JARS_DIR:-}"

# ---- cluster shape -------------------------------------------------------------------------------------------
MASTER="${MASTER:-yarn}"
DEPLOY_MODE="${DEPLOY_MODE:-client}"
NUM_EXECUTORS="${NUM_EXECUTORS:-2}"
EXECUTOR_CORES="${EXECUTOR_CORES:-8}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-16g}"
EXECUTOR_MEMORY_OVERHEAD="${EXECUTOR_MEMORY_OVERHEAD:-8g}"
DRIVER_MEMORY="${DRIVER_MEMORY:-4g}"
GPUS_PER_EXECUTOR="${GPUS_PER_EXECUTOR:-1}"
TASK_GPU_AMOUNT="${TASK_GPU_AMOUNT:-1}"
# cores per task: the executor's cores divided among the tasks its GPUs allow (GPUS_PER_EXECUTOR / TASK_GPU_AMOUNT),
# so that cores and GPUs limit the executor to the same number of concurrent tasks
if [ -z "${TASK_CPUS:-}" ]; then
  if [ "$GPUS_PER_EXECUTOR" = "0" ]; then
    TASK_CPUS="$EXECUTOR_CORES"
  else
    TASK_CPUS=$(awk -v c="$EXECUTOR_CORES" -v g="$GPUS_PER_EXECUTOR" -v t="$TASK_GPU_AMOUNT" \
      'BEGIN { n = int(c / int(g / t)); print (n < 1 ? 1 : n) }')
  fi
fi

# s3a for Spark 4.2.0 (Hadoop 3.5.0): hadoop-aws plus the two AWS SDK v2 modules it uses. hadoop-aws declares the
# whole AWS SDK bundle (about 640 MB) as a dependency; it is not needed and is excluded below.
S3A_PACKAGES="org.apache.hadoop:hadoop-aws:3.5.0,software.amazon.awssdk:s3:2.35.4,software.amazon.awssdk:s3-transfer-manager:2.35.4"
S3A_EXCLUDES="software.amazon.awssdk:bundle,software.amazon.encryption.s3:amazon-s3-encryption-client-java"

# ---- checks --------------------------------------------------------------------------------------------------
if [ -z "$APP_JAR" ] || [ ! -f "$APP_JAR" ]; then
  echo "application jar not found (APP_JAR='$APP_JAR'): build it with 'mvn -B -Pgpu -DskipTests package'" >&2
  exit 2
fi
if [ "${DRY_RUN:-0}" != "1" ] && [ ! -x "$SPARK_SUBMIT" ] && ! command -v "$SPARK_SUBMIT" >/dev/null 2>&1; then
  echo "spark-submit not found at '$SPARK_SUBMIT': set SPARK_HOME or SPARK_SUBMIT" >&2
  exit 2
fi
if [ ! -f "$LOG4J_CONF" ]; then
  echo "log4j configuration '$LOG4J_CONF' not found: set LOG4J_CONF" >&2
  exit 2
fi

# ---- the job's arguments; in cluster mode the --config file travels with --files -------------------------------
FILES="$LOG4J_CONF"
JOB_ARGS=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --config)
      [ "$#" -ge 2 ] || { echo "--config needs a file" >&2; exit 2; }
      if [ "$DEPLOY_MODE" = "cluster" ]; then
        FILES="$FILES,$2"
        JOB_ARGS+=(--config "$(basename "$2")")
      else
        JOB_ARGS+=(--config "$2")
      fi
      shift 2 ;;
    --config=*)
      f="${1#--config=}"
      if [ "$DEPLOY_MODE" = "cluster" ]; then
        FILES="$FILES,$f"
        JOB_ARGS+=("--config=$(basename "$f")")
      else
        JOB_ARGS+=("$1")
      fi
      shift ;;
    *)
      JOB_ARGS+=("$1")
      shift ;;
  esac
done

# log4j2.xml: executors (and a cluster-mode driver) read it from their working folder, where YARN localizes --files
# before the JVM starts. On standalone clusters and Kubernetes files arrive only after the executor has started:
# there, put the file on every host or in the image and set LOG4J_EXECUTOR_PATH to its absolute path.
LOG4J_EXECUTOR_PATH="${LOG4J_EXECUTOR_PATH:-$(basename "$LOG4J_CONF")}"
if [ "$DEPLOY_MODE" = "cluster" ]; then
  LOG4J_DRIVER_PATH="$LOG4J_EXECUTOR_PATH"
else
  LOG4J_DRIVER_PATH="$LOG4J_CONF"
fi

# The driver of a client-mode job is this process's child: it inherits these. ORT_DISABLE_TELEMETRY=1: ONNX
# Runtime's telemetry matches a backtracking regex against the process command line when its environment is first
# created; a command line of more than a few kB (Spark's are) overflows the thread stack and kills the JVM with
# SIGSEGV and no hs_err file. DJL_OFFLINE / RUST_FLAVOR: the tokenizer uses the CPU library inside the jar and
# never downloads anything.
export ORT_DISABLE_TELEMETRY=1 DJL_OFFLINE=true RUST_FLAVOR=cpu

# A crashing driver writes hs_err_pid<pid>.log with its whole command line (job arguments included) into its working
# folder. In client mode it goes to a folder only this user reads; in both modes the command line is removed from it
# as soon as it is written (HotSpot runs OnError after the report), and the JVM's performance data, which holds the
# command line too, stays out of /tmp. The same options as bin/spark-diffusion's.
if [ "$DEPLOY_MODE" = "client" ]; then
  CRASH_DIR="${SPARK_DIFFUSION_CRASH_DIR:-${HOME:-/tmp}/.spark-diffusion/crash}"
  (umask 077 && mkdir -p "$CRASH_DIR") && chmod 700 "$CRASH_DIR"
  CRASH_FILE="$CRASH_DIR/hs_err_pid%p.log"
else
  CRASH_FILE="hs_err_pid%p.log"
fi
DRIVER_CRASH_OPTS="-XX:ErrorFile=$CRASH_FILE \"-XX:OnError=sed -i.bak -e /^Command.Line:/d -e /^java_command:/d $CRASH_FILE;rm -f $CRASH_FILE.bak\" -XX:+PerfDisableSharedMem"

CMD=("$SPARK_SUBMIT"
  --class io.sparkdiffusion.jobs.GenerateJob
  --name spark-diffusion
  --master "$MASTER"
  --deploy-mode "$DEPLOY_MODE"
  --driver-memory "$DRIVER_MEMORY"
  --num-executors "$NUM_EXECUTORS"
  --executor-cores "$EXECUTOR_CORES"
  --executor-memory "$EXECUTOR_MEMORY"
  # ONNX Runtime's weights, arena and CUDA context live outside the heap: YARN and Kubernetes kill containers
  # that exceed heap + overhead
  --conf "spark.executor.memoryOverhead=$EXECUTOR_MEMORY_OVERHEAD"
  # a fixed set of executors: each one loads the model once and keeps it resident, so executors coming and going
  # would pay the load again
  --conf spark.dynamicAllocation.enabled=false
  # cores and GPUs allow the same number of tasks per executor (one with the defaults), so neither sits idle by
  # configuration (Spark warns about wasted resources otherwise); the tasks' ONNX Runtime threads share the cores
  --conf "spark.task.cpus=$TASK_CPUS"
)

if [ "$GPUS_PER_EXECUTOR" != "0" ]; then
  CMD+=(
    # GPU scheduling (Spark's resource scheduling): each executor asks its cluster manager for GPUS_PER_EXECUTOR
    # GPUs (YARN: yarn.io/gpu; Kubernetes: <vendor>/gpu) and runs the discovery script to learn their addresses;
    # each task is given TASK_GPU_AMOUNT of one. The job reads the task's address (TaskContext resources) and runs
    # ONNX Runtime's CUDA provider on that device (runtime.provider auto, the default).
    --conf "spark.executor.resource.gpu.amount=$GPUS_PER_EXECUTOR"
    --conf "spark.task.resource.gpu.amount=$TASK_GPU_AMOUNT"
    --conf "spark.executor.resource.gpu.discoveryScript=$GPU_DISCOVERY_SCRIPT"
    # Kubernetes only (ignored elsewhere): the device plugin's resource name prefix
    --conf spark.executor.resource.gpu.vendor=nvidia.com
  )
fi

CMD+=(
  # environment of the executors (and of a cluster-mode driver on YARN / Kubernetes): see the export above
  --conf spark.executorEnv.ORT_DISABLE_TELEMETRY=1
  --conf spark.executorEnv.DJL_OFFLINE=true
  --conf spark.executorEnv.RUST_FLAVOR=cpu
  --conf "spark.executorEnv.DJL_CACHE_DIR=$DJL_CACHE_DIR_EXECUTOR"
  --conf spark.yarn.appMasterEnv.ORT_DISABLE_TELEMETRY=1
  --conf spark.yarn.appMasterEnv.DJL_OFFLINE=true
  --conf spark.yarn.appMasterEnv.RUST_FLAVOR=cpu
  --conf spark.kubernetes.driverEnv.ORT_DISABLE_TELEMETRY=1
  --conf spark.kubernetes.driverEnv.DJL_OFFLINE=true
  --conf spark.kubernetes.driverEnv.RUST_FLAVOR=cpu
  # logging: our log4j2.xml (progress per batch on executors, per interval on the driver). Spark 4's launcher
  # already adds the Java 17 --add-opens options to the driver and executors: nothing to add for them here.
  # The driver's crash file holds its command line: see DRIVER_CRASH_OPTS. (The job adds the executors' options.)
  --files "$FILES"
  --conf "spark.driver.extraJavaOptions=-Dlog4j.configurationFile=$LOG4J_DRIVER_PATH $DRIVER_CRASH_OPTS"
  --conf "spark.executor.extraJavaOptions=-Dlog4j.configurationFile=$LOG4J_EXECUTOR_PATH"
)

# s3a:// input, output or model: hadoop-aws and the AWS SDK s3 modules, which the cluster's Spark may lack (EMR and
# most managed Sparks ship their own S3 connector: leave both unset there by setting S3A_JARS_DIR=none).
if [ "$S3A_JARS_DIR" = "none" ]; then
  :
elif [ -n "$S3A_JARS_DIR" ]; then
  # offline alternative: the same jars from a folder, e.g. made with
  #   mvn -B -pl jobs dependency:copy-dependencies -DincludeScope=provided -DoutputDirectory=target/s3a-jars \
  #     -DincludeGroupIds=org.apache.hadoop,software.amazon.awssdk,software.amazon.eventstream,software.amazon.s3.analyticsaccelerator,org.reactivestreams,org.wildfly.openssl \
  #     -DexcludeArtifactIds=hadoop-client-api,hadoop-client-runtime
  S3A_JARS=$(ls "$S3A_JARS_DIR"/*.jar | paste -sd, -)
  CMD+=(--jars "$S3A_JARS")
else
  CMD+=(--packages "$S3A_PACKAGES" --exclude-packages "$S3A_EXCLUDES")
fi

CMD+=("$APP_JAR" "${JOB_ARGS[@]}")

if [ "${DRY_RUN:-0}" = "1" ]; then
  printf '%q ' "${CMD[@]}"
  echo
  exit 0
fi
exec "${CMD[@]}"
