#!/usr/bin/env python3
"""PyTorch peer of bench-recsys: BPR-MF and the same causal self-attention
model as rec.sasrec (pre-LayerNorm blocks, tied item embeddings, full
softmax cross-entropy, Adam), trained on MovieLens-100K with the same
sizes, the same data per epoch and the same number of threads.  Prints one
JSON object per model with seconds per training epoch and the seconds of
a full-ranking evaluation of every test user (history masked, top 10).

usage: peer_torch.py ML100K_INTER BPR_EPOCHS SASREC_EPOCHS
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for n, line in enumerate(f):
            u, i, r, t = line.rstrip("\n").split("\t")
            rows.append((int(u), int(i), float(t), n))
    users = sorted({r[0] for r in rows})
    items = sorted({r[1] for r in rows})
    uid = {u: k for k, u in enumerate(users)}
    iid = {i: k for k, i in enumerate(items)}
    seqs = [[] for _ in users]
    for u, i, t, n in sorted(rows, key=lambda r: (r[0], r[2], r[3])):
        seqs[uid[u]].append(iid[i])
    return seqs, len(items)


def split_general(seqs, gen):
    """RecBole RS 0.8/0.1/0.1 per user (sizes as protocol.split)."""
    train, test = [], []
    for s in seqs:
        n = len(s)
        perm = torch.randperm(n, generator=gen).tolist()
        cnt = [0, int(0.1 * n), int(0.1 * n)]
        cnt[0] = n - cnt[1] - cnt[2]
        train.append([s[p] for p in perm[:cnt[0]]])
        test.append([s[p] for p in perm[n - cnt[2]:]])
    return train, test


def rank_eval(score_fn, users, hist, test, n_items, batch=512):
    """Full ranking: scores of every item, history masked, top 10; returns
    NDCG@10 so that the work cannot be skipped."""
    ndcg, n = 0.0, 0
    with torch.no_grad():
        for b in range(0, len(users), batch):
            us = users[b:b + batch]
            s = score_fn(us)
            rows = torch.cat([torch.full((len(hist[u]),), k)
                              for k, u in enumerate(us)])
            cols = torch.tensor([i for u in us for i in hist[u]])
            s[rows, cols] = -float("inf")
            top = torch.topk(s, 10, dim=1).indices.tolist()
            for k, u in enumerate(us):
                truth = set(test[u])
                dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(top[k])
                          if i in truth)
                idcg = sum(1 / math.log2(r + 2)
                           for r in range(min(10, len(truth))))
                ndcg += dcg / idcg
                n += 1
    return ndcg / n


def bench_bpr(seqs, n_items, epochs, gen):
    train, test = split_general(seqs, gen)
    n_users, d = len(seqs), 64
    pu = torch.tensor([u for u, s in enumerate(train) for _ in s])
    pi = torch.tensor([i for s in train for i in s])
    seen = torch.zeros(n_users, n_items, dtype=torch.bool)
    seen[pu, pi] = True
    U = torch.nn.Embedding(n_users, d)
    V = torch.nn.Embedding(n_items, d)
    torch.nn.init.normal_(U.weight, std=0.03)
    torch.nn.init.normal_(V.weight, std=0.03)
    opt = torch.optim.Adam(list(U.parameters()) + list(V.parameters()),
                           lr=0.001)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(pu), generator=gen)
        for b in range(0, len(pu), 2048):
            idx = perm[b:b + 2048]
            u, i = pu[idx], pi[idx]
            j = torch.randint(n_items, (len(idx),), generator=gen)
            bad = seen[u, j]
            while bad.any():
                j[bad] = torch.randint(n_items, (int(bad.sum()),),
                                       generator=gen)
                bad = seen[u, j]
            eu = U(u)
            x = (eu * (V(i) - V(j))).sum(1)
            loss = -F.logsigmoid(x).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    users = [u for u in range(n_users) if test[u]]
    t0 = time.perf_counter()
    ndcg = rank_eval(lambda us: U.weight[us] @ V.weight.T, users, train,
                     test, n_items)
    ev = time.perf_counter() - t0
    return {"model": "bpr", "impl": "torch", "epochs": epochs,
            "epoch_seconds": sum(times) / len(times), "eval_seconds": ev,
            "eval_users": len(users), "ndcg@10": round(ndcg, 4),
            "params": (n_users + n_items) * d}


class SASRec(torch.nn.Module):
    def __init__(self, n_items, d=64, layers=2, heads=2, inner=256,
                 max_len=50, dropout=0.2):
        super().__init__()
        self.d, self.h = d, heads
        self.E = torch.nn.Parameter(torch.randn(n_items, d) * 0.02)
        self.P = torch.nn.Parameter(torch.randn(max_len, d) * 0.02)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(d)
            b.qkv = torch.nn.Linear(d, 3 * d)
            b.out = torch.nn.Linear(d, d)
            b.ln2 = torch.nn.LayerNorm(d)
            b.ff1 = torch.nn.Linear(d, inner)
            b.ff2 = torch.nn.Linear(inner, d)
            for lin in (b.qkv, b.out, b.ff1, b.ff2):
                torch.nn.init.normal_(lin.weight, std=0.02)
                torch.nn.init.zeros_(lin.bias)
            self.blocks.append(b)
        self.lnf = torch.nn.LayerNorm(d)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, items):
        B, L = items.shape
        dh = self.d // self.h
        x = self.drop(self.E[items] + self.P[:L])
        causal = torch.triu(torch.full((L, L), -float("inf")), 1)
        for b in self.blocks:
            q, k, v = b.qkv(b.ln1(x)).split(self.d, dim=2)
            q = q.view(B, L, self.h, dh).transpose(1, 2)
            k = k.view(B, L, self.h, dh).transpose(1, 2)
            v = v.view(B, L, self.h, dh).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(dh) + causal,
                              dim=-1)
            o = (a @ v).transpose(1, 2).reshape(B, L, self.d)
            x = x + self.drop(b.out(o))
            x = x + self.drop(b.ff2(F.relu(b.ff1(b.ln2(x)))))
        return self.lnf(x)


def windows(train, max_len):
    """Every transition once: consecutive blocks of at most max_len
    targets from the end of each sequence (rec.sasrec's windows: all)."""
    out = []
    for s in train:
        end = len(s)
        while end >= 2:
            n = min(end - 1, max_len)
            out.append((s[end - n - 1:end - 1], s[end - n:end]))
            end -= n
    return out


def bench_sasrec(seqs, n_items, epochs, gen):
    max_len, batch = 50, 128
    train = [s[:-2] for s in seqs]
    full = [s[:-1] for s in seqs]
    test = [[s[-1]] for s in seqs]
    model = SASRec(n_items, max_len=max_len)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    wins = windows(train, max_len)
    times = []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(wins), generator=gen).tolist()
        for b in range(0, len(wins), batch):
            ws = [wins[p] for p in perm[b:b + batch]]
            L = max(len(w[0]) for w in ws)
            inp = torch.zeros(len(ws), L, dtype=torch.long)
            tgt = torch.full((len(ws), L), -100, dtype=torch.long)
            for k, (x, y) in enumerate(ws):
                inp[k, :len(x)] = torch.tensor(x)
                tgt[k, :len(y)] = torch.tensor(y)
            h = model(inp)
            logits = h @ model.E.T
            loss = F.cross_entropy(logits.view(-1, n_items), tgt.view(-1),
                                   ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    model.eval()

    def score(us):
        hs = [full[u][-max_len:] for u in us]
        L = max(len(x) for x in hs)
        inp = torch.zeros(len(us), L, dtype=torch.long)
        for k, x in enumerate(hs):
            inp[k, :len(x)] = torch.tensor(x)
        h = model(inp)
        last = torch.tensor([len(x) - 1 for x in hs])
        return h[torch.arange(len(us)), last] @ model.E.T

    users = list(range(len(seqs)))
    t0 = time.perf_counter()
    ndcg = rank_eval(score, users, full, test, n_items, batch=128)
    ev = time.perf_counter() - t0
    return {"model": "sasrec", "impl": "torch", "epochs": epochs,
            "epoch_seconds": sum(times) / len(times), "eval_seconds": ev,
            "eval_users": len(users), "ndcg@10": round(ndcg, 4),
            "params": sum(p.numel() for p in model.parameters()),
            "tokens_per_epoch": sum(len(w[1]) for w in wins)}


def main():
    path, bpr_epochs, sas_epochs = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3])
    threads = int(os.environ.get("ASSAY_THREADS", "2"))
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    seqs, n_items = load(path)
    for res in (bench_bpr(seqs, n_items, bpr_epochs, gen),
                bench_sasrec(seqs, n_items, sas_epochs, gen)):
        res["threads"] = threads
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
