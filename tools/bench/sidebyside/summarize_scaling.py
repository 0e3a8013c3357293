import sys, re
rows=[]; cur=None
for l in open(sys.argv[1]):
    if l.startswith("### "):
        cur={"case":l[4:].strip()}; rows.append(cur)
    elif cur is None: continue
    elif l.startswith("images/s"): cur["ips"]=float(l.split()[1])
    elif l.startswith("peak memory"): cur["peak"]=l.split()[2]
    elif l.startswith("total"): cur["total"]=float(l.split()[1])
    elif l.strip().startswith("run "):
        m=re.match(r"\s*run (\S+)\s+([\d.]+) ms\s+\(([\d.]+) calls per image, ([\d.]+) ms/call\)", l)
        cur[m.group(1)]=(float(m.group(2)),float(m.group(3)),float(m.group(4)))
    elif l.strip().startswith("other"): cur["other"]=float(l.split()[1])
    elif l.startswith("ratio"): cur["ratio"]=float(l.split()[-1])
    elif l.startswith("settings"):
        m=re.search(r"(\d+) timed batches", l); b=re.search(r"batch (\d+)", l)
        cur["n"]=int(m.group(1))*int(b.group(1))
print("| case | images/s | ms per image | UNet calls per image, ms per call | VAE ms per call | text-encoder calls per image | other ms per image | total / sum(run) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if "ips" not in r: continue
    n=r["n"]
    print(f"| {r['case']} | {r['ips']:.2f} | {1000/r['ips']:.0f} | {r['unet'][1]:.2f}, {r['unet'][2]:.1f} | {r['vae_decoder'][2]:.1f} | {r['text_encoder'][1]:.2f} | {r['other']/n:.1f} | {r['ratio']:.3f} | {r['peak']} |")
