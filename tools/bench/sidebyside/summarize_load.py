import sys, statistics, re, collections
d = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for l in open(sys.argv[1]):
    if l.startswith("SOLO"):
        f = l.split()
        name = f[1]
        if name not in order: order.append(name)
        kv = dict(zip(f[2::2], f[3::2]))
        for k in ("load_ms", "first_call_ms", "steady_img_s", "jvm_uptime_ms", "peak_rss_mib"):
            d[name][k].append(float(kv[k]))
    elif l.startswith("process_ms") and order:
        d[name]["process_ms"].append(float(l.split()[1]))
ref = d["sd4j"]
print("| engine | runs | load s (median [min,max]) | process s (10 images) | peak RSS MiB (median [min,max]) | load / sd4j | peak / sd4j |")
print("|---|---|---|---|---|---|---|")
for n in order:
    x = d[n]
    m = lambda k: statistics.median(x[k])
    print(f"| {n} | {len(x['load_ms'])} | {m('load_ms')/1e3:.2f} [{min(x['load_ms'])/1e3:.2f}, {max(x['load_ms'])/1e3:.2f}] | {m('process_ms')/1e3:.2f} | {m('peak_rss_mib'):.0f} [{min(x['peak_rss_mib']):.0f}, {max(x['peak_rss_mib']):.0f}] | {m('load_ms')/statistics.median(ref['load_ms']):.2f} | {m('peak_rss_mib')/statistics.median(ref['peak_rss_mib']):.2f} |")
# per-round ratios (rounds are interleaved: sd4j then spark-diffusion in the same round)
r = [a/b for a, b in zip(d["spark-diffusion"]["load_ms"], ref["load_ms"])]
p = [a/b for a, b in zip(d["spark-diffusion"]["peak_rss_mib"], ref["peak_rss_mib"])]
print(f"\nper round spark-diffusion/sd4j: load median {statistics.median(r):.2f} [{min(r):.2f},{max(r):.2f}], peak median {statistics.median(p):.2f} [{min(p):.2f},{max(p):.2f}]")
