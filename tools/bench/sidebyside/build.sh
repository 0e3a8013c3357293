#!/usr/bin/env bash
# Compiles the harness: api/ on the parent class path, sd/ against a spark-diffusion build, sd4j/ against sd4j's jar.
set -euo pipefail
cd "$(dirname "$0")"
SD_CLASSES=${1:-../../../common/target/classes}
SD4J=${SD4J_HOME:-/work/bench/sd4j}
CP=$(tr ':' '\n' < cp.txt | grep -v junit | grep -v opentest | grep -v apiguardian | paste -sd:)
rm -rf api/out sd/out sd4j/out serve/out && mkdir -p api/out sd/out sd4j/out serve/out
javac -d api/out -cp "$CP" api/*.java
javac -d sd/out -cp "api/out:$SD_CLASSES:$CP" sd/*.java
javac -d serve/out -cp "api/out:$SD_CLASSES:$CP" serve/*.java
javac -d sd4j/out -cp "api/out:$SD4J/target/sd4j-1.1-1.14.0.jar:$CP" sd4j/*.java
echo "$CP" > parent.cp
