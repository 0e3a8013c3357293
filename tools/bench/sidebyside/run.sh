#!/usr/bin/env bash
# java with the harness on the parent class path, run from sd4j's working folder (text_tokenizer/, libortextensions.so)
H=$(cd "$(dirname "$0")" && pwd)
SD4J=${SD4J_HOME:-/work/bench/sd4j}
cd "$SD4J"
exec java ${JOPTS:-} -Dbench.home="$H" -Dsd4j.home="$SD4J" -cp "$H/api/out:$(cat "$H/parent.cp")" bench.Harness "$@"
