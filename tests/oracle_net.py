"""An independent plain-Python transcription of bpbench's general network semantics: any layer
sizes, biases none / fixed / trained, several patterns, both update orders. Nested lists and
Python floats, shares no code with bpbench. The arithmetic follows the documented order
(sums in index order, patterns in order), so step counts and final values must agree exactly.
"""
from copy import deepcopy
from math import isfinite

from oracle import f, mu_product, new_weight


def train(layers, inputs, targets, weights, biases, bias, optimizer, order="simultaneous",
          tol=1e-7, margin=0.0, max_steps=10000, **hyper):
    """(steps run, status, final loss, first output of the first pattern)."""
    c = [1.0]  # NAdam's product of momentum coefficients
    K = len(layers) - 1  # weight layers
    w = deepcopy(weights)  # w[a][j][i]: unit i of layer a -> unit j of layer a+1
    b = deepcopy(biases) if bias != "none" else None
    m, v = {}, {}
    for name in params(layers, bias):
        m[name] = v[name] = 0.0

    def forward(x):
        ys = [list(x)]
        for a in range(K):
            layer = []
            for j in range(layers[a + 1]):
                z = w[a][j][0] * ys[a][0]
                for i in range(1, layers[a]):
                    z = z + w[a][j][i] * ys[a][i]
                if b is not None:
                    z = z + b[a][j]
                layer.append(f(z))
            ys.append(layer)
        return ys

    def deltas_of(a, ys, t, d_above):
        """dE/dz for layer a (1..K) of one pattern, from the deltas of layer a+1."""
        out = []
        for j in range(layers[a]):
            y = ys[a][j]
            if a == K:
                out.append((y - t[j]) * (y * (1 - y)))
            else:
                s = d_above[0] * w[a][0][j]
                for k in range(1, layers[a + 1]):
                    s = s + d_above[k] * w[a][k][j]
                out.append(s * (y * (1 - y)))
        return out

    def grads_of(a, all_ys, all_d):
        """{param: gradient summed over patterns} for weight layer a (to layer a+1)."""
        g = {}
        P = range(len(inputs))
        for j in range(layers[a + 1]):
            for i in range(layers[a]):
                s = all_d[0][a + 1][j] * all_ys[0][a][i]
                for p in P[1:]:
                    s = s + all_d[p][a + 1][j] * all_ys[p][a][i]
                g["w", a, j, i] = s
        if bias == "trained":
            for j in range(layers[a + 1]):
                s = all_d[0][a + 1][j]
                for p in P[1:]:
                    s = s + all_d[p][a + 1][j]
                g["b", a, j] = s
        return g

    def update(g, t):
        for name, gn in g.items():  # dicts keep insertion order: to-unit by to-unit, biases last
            if name[0] == "w":
                row = w[name[1]][name[2]]
                row[name[3]] = new_weight(optimizer, row[name[3]], gn, m, v, name, t, c[0],
                                          **hyper)
            else:
                row = b[name[1]]
                row[name[2]] = new_weight(optimizer, row[name[2]], gn, m, v, name, t, c[0],
                                          **hyper)

    step = 1
    while True:
        all_ys = [forward(x) for x in inputs]
        loss, err = 0.0, 0.0
        first = True
        for ys, t in zip(all_ys, targets):
            for j, tj in enumerate(t):
                d = ys[K][j] - tj
                loss = 1 / 2 * (d * d) if first else loss + 1 / 2 * (d * d)
                err = abs(d) if first else max(err, abs(d))
                first = False
        finite = all(isfinite(x) for name in params(layers, bias) for x in [value(w, b, name)])
        out = all_ys[0][K][0]
        if not (isfinite(loss) and finite):
            return step, "diverged", loss, out
        if (err < margin) if margin > 0 else (loss < tol):
            return step, "converged", loss, out
        if step >= max_steps:
            return step, "max_steps", loss, out
        all_d = [[None] * (K + 2) for _ in inputs]
        if optimizer == "nadam":
            c[0] = mu_product(c[0], step, hyper["beta"], hyper["momentum_decay"])
        if order == "inplace":
            for a in range(K - 1, -1, -1):  # weight layer a, from the top
                for p, (ys, t) in enumerate(zip(all_ys, targets)):
                    all_d[p][a + 1] = deltas_of(a + 1, ys, t, all_d[p][a + 2])  # updated w
                update(grads_of(a, all_ys, all_d), step)
        else:
            for p, (ys, t) in enumerate(zip(all_ys, targets)):
                for a in range(K, 0, -1):
                    all_d[p][a] = deltas_of(a, ys, t, all_d[p][a + 1])
            g = {}
            for a in range(K - 1, -1, -1):
                g.update(grads_of(a, all_ys, all_d))
            update(g, step)
        step += 1


def params(layers, bias):
    out = []
    for a in range(len(layers) - 1):
        out += [("w", a, j, i) for j in range(layers[a + 1]) for i in range(layers[a])]
        if bias != "none":
            out += [("b", a, j) for j in range(layers[a + 1])]
    return out


def value(w, b, name):
    return w[name[1]][name[2]][name[3]] if name[0] == "w" else b[name[1]][name[2]]
