#!/usr/bin/env python3
"""Expected encodings for Tests/ModelTests/SAETests.swift, computed independently with numpy.

The tests write tiny SAELens-style SAEs whose weights come from the integer hash below; every
weight is a small dyadic rational (k/64, k/32, k/16), exact in F32, F16 and BF16, so one set of
expected numbers serves all three dtypes. Encoding follows SAELens' inference classes:
  pre = (x - b_dec if apply_b_dec_to_input else x) @ W_enc + b_enc
  standard: relu(pre); jumprelu: relu(pre) * (pre > threshold);
  topk: torch.topk(pre, k) then ReLU on the kept values (ties here: lower index).
Run: python3 scripts/sae_fixture_gen.py > Tests/ModelTests/Fixtures/sae_expected.json
"""
import json
import numpy as np

D_IN = 576
M32 = 0xFFFFFFFF


def h(i, seed):
    x = ((i + 1) * 2654435761 + seed * 40503) & M32
    x ^= x >> 13
    x = (x * 2246822519) & M32
    x ^= x >> 16
    return x


def values(n, seed, modulus, offset, denom):
    return np.array([((h(i, seed) % modulus) - offset) / denom for i in range(n)], dtype=np.float64)


def weights(d_sae):
    return {
        "W_enc": values(D_IN * d_sae, 1, 33, 16, 64.0).reshape(D_IN, d_sae),
        "W_dec": values(d_sae * D_IN, 2, 33, 16, 64.0).reshape(d_sae, D_IN),
        "b_enc": values(d_sae, 3, 33, 16, 64.0),
        "b_dec": values(D_IN, 4, 33, 16, 32.0),
        "threshold": values(d_sae, 5, 17, 4, 16.0),
    }


def inputs(count):
    return [values(D_IN, 10 + n, 65, 32, 16.0) for n in range(count)]


def encode(w, x, arch, apply_b_dec, k=None):
    sae_in = x - w["b_dec"] if apply_b_dec else x
    pre = sae_in @ w["W_enc"] + w["b_enc"]
    if arch == "standard":
        return np.maximum(pre, 0)
    if arch == "jumprelu":
        return np.maximum(pre, 0) * (pre > w["threshold"])
    if arch == "topk":
        order = np.argsort(-pre, kind="stable")[:k]
        out = np.zeros_like(pre)
        out[order] = np.maximum(pre[order], 0)
        return out
    raise ValueError(arch)


CASES = [
    {"name": "standard", "architecture": "standard", "d_sae": 16, "apply_b_dec_to_input": True},
    {"name": "jumprelu", "architecture": "jumprelu", "d_sae": 24, "apply_b_dec_to_input": False},
    {"name": "topk", "architecture": "topk", "d_sae": 32, "apply_b_dec_to_input": True, "k": 5},
]


def main():
    xs = inputs(3)
    out = {"d_in": D_IN, "cases": []}
    for case in CASES:
        w = weights(case["d_sae"])
        encoded = [encode(w, x, case["architecture"], case["apply_b_dec_to_input"], case.get("k")) for x in xs]
        decoded = encoded[0] @ w["W_dec"] + w["b_dec"]
        out["cases"].append(dict(case, encodings=[e.tolist() for e in encoded], decode_first=decoded.tolist()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
