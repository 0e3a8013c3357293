"""Per-round ratios of `solo` runs in rounds (bench-all.sh firstopen): lines "ROUND LABEL SOLO LABEL key value ...".

Prints, for every engine but sd4j, the median [min, max] over rounds of its open time, open plus first image and
peak resident memory over sd4j's in the same round, and the same of "after" over "before" when both are there.
"""
import statistics
import sys


def spread(values):
    v = sorted(values)
    return "%.2f [%.2f, %.2f]" % (statistics.median(v), v[0], v[-1])


rounds, order = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 4 or f[2] != "SOLO":
        continue
    kv = dict(zip(f[4::2], f[5::2]))
    if f[1] not in order:
        order.append(f[1])
    rounds.setdefault(f[0], {})[f[1]] = (float(kv["load_ms"]), float(kv["first_call_ms"]), float(kv["peak_rss_mib"]))

complete = [r for r in rounds.values() if all(e in r for e in order)]
print("%d complete rounds of %s" % (len(complete), ", ".join(order)))
for e in order:
    print("%-8s open median %.0f ms" % (e, statistics.median(r[e][0] for r in complete)))
for e in order:
    if e == "sd4j":
        continue
    print("%-8s open / sd4j %s; open + first image / sd4j %s; peak / sd4j %s" % (
        e,
        spread([r[e][0] / r["sd4j"][0] for r in complete]),
        spread([(r[e][0] + r[e][1]) / (r["sd4j"][0] + r["sd4j"][1]) for r in complete]),
        spread([r[e][2] / r["sd4j"][2] for r in complete])))
if "before" in order and "after" in order:
    print("after / before: open %s; open + first image %s" % (
        spread([r["after"][0] / r["before"][0] for r in complete]),
        spread([(r["after"][0] + r["after"][1]) / (r["before"][0] + r["before"][1]) for r in complete])))
