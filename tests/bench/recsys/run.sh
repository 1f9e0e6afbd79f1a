#!/bin/sh
# Benchmark of rec.bpr and rec.sasrec on MovieLens-100K against PyTorch
# implementations of the same models and sizes (peer_torch.py), in the same
# run, on the same number of threads ($ASSAY_THREADS, default 2).  Prints
# seconds per training epoch and per full-ranking evaluation of every test
# user, and the ratios torch / assay (above 1: assay is faster).
#
#   run.sh BENCH_EXE [ML100K_INTER] [BPR_EPOCHS] [SASREC_EPOCHS]
#
# The data defaults to $ASSAY_SHARED/data/ml-100k/ml-100k.inter (else
# ../shared next to the source tree).  The peer needs PyTorch: on Debian
# `apt-get install python3-torch`; without it the peer is skipped.  Both
# sides use the same BLAS (OpenBLAS); its kernel choice follows
# OPENBLAS_CORETYPE if set, and is printed.
set -u
exe=$1
src=${ASSAY_SRC:-$(dirname "$0")/../../..}
data=${2:-${ASSAY_SHARED:-$src/../shared}/data/ml-100k/ml-100k.inter}
bpr_epochs=${3:-20}
sas_epochs=${4:-3}
export ASSAY_THREADS=${ASSAY_THREADS:-2}
if [ ! -f "$data" ]; then
    echo "skip: $data not found (set ASSAY_SHARED or pass the path)"
    exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "ml-100k, $ASSAY_THREADS threads, BPR $bpr_epochs epochs, SASRec $sas_epochs epochs"
"$exe" "$data" "$bpr_epochs" "$sas_epochs" > "$out" || exit 1
py=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" > /dev/null 2>&1 &&
        "$p" -c "import torch" > /dev/null 2>&1; then
        py=$p
        break
    fi
done
if [ -z "$py" ]; then
    echo "peer skipped: PyTorch is not installed (apt-get install python3-torch)"
else
    "$py" -c 'import re, torch
cfg = torch.__config__.show()
m = re.search("BLAS_INFO=([^,]*)", cfg)
blas = "MKL" if "Math Kernel Library" in cfg else (m.group(1) if m else "?")
print("peer: torch", torch.__version__, "BLAS", blas)' >&2
    "$py" "$(dirname "$0")/peer_torch.py" "$data" "$bpr_epochs" "$sas_epochs" >> "$out" || exit 1
fi
"${py:-python3}" - "$out" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {(r["model"], r["impl"]): r for r in rows}
print("%-7s %-10s %12s %12s %8s" % ("model", "measure", "assay", "torch",
                                     "torch/assay"))
for m in ("bpr", "sasrec"):
    a, t = by.get((m, "assay")), by.get((m, "torch"))
    for key, name in (("epoch_seconds", "s/epoch"), ("eval_seconds", "eval s")):
        ratio = "%.2fx" % (t[key] / a[key]) if t and a[key] > 0 else "-"
        print("%-7s %-10s %12.4f %12s %8s" % (m, name, a[key],
              "%.4f" % t[key] if t else "-", ratio))
    print("%-7s %-10s %12.4f %12s" % (m, "ndcg@10", a["ndcg@10"],
          "%.4f" % t["ndcg@10"] if t else "-"))
PYEOF
