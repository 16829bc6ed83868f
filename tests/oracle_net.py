"""An independent plain-Python transcription of bpbench's general network semantics: any layer
sizes, biases none / fixed / trained, several patterns, both update orders, every activation,
both losses, the prime offset, batches and learning-rate schedules. Nested lists and
Python floats, shares no code with bpbench. The arithmetic follows the documented order
(sums in index order, patterns in order), so step counts and final values must agree exactly.
"""
from copy import deepcopy
from math import inf, isfinite, log, log1p, tanh

from oracle import f, mu_product, new_weight


def ln(x, log=log):
    """log (or log1p) as C's: -inf at 0, NaN below, where Python's math raises."""
    try:
        return log(x)
    except ValueError:
        return -inf if x == (0 if log is not log1p else -1) else float("nan")


def relu(z):
    return 0.0 if z < 0 else z


ACTIVATION = {"sigmoid": f, "tanh": tanh, "linear": lambda z: z, "relu": relu}
# the derivative written with the unit's output y
SLOPE = {"sigmoid": lambda y: y * (1 - y), "tanh": lambda y: 1 - y * y,
         "linear": lambda y: 1.0, "relu": lambda y: 1.0 if y > 0 else 0.0}


def clamp(x):
    """torch's binary cross-entropy keeps each log >= -100 (NaN stays NaN)."""
    return -100.0 if x < -100 else x


def train(layers, inputs, targets, weights, biases, bias, optimizer, order="simultaneous",
          tol=1e-7, margin=0.0, max_steps=10000, activations=None, loss="sse",
          prime_offset=0.0, batch=None, schedule=None, losses=None, shuffle=False, seed=None,
          **hyper):
    """(steps run, status, final loss, first output of the first pattern). activations: one
    name per non-input layer; batch: patterns per update (None: all); schedule: {"kind":
    ..., its parameters}, stepped once an epoch; losses: a list to append each step's loss
    to; shuffle: each epoch's updates take the patterns in the order drawn for (seed, epoch)
    (epoch_order)."""
    c = [1.0]  # NAdam's product of momentum coefficients
    K = len(layers) - 1  # weight layers
    acts = activations or ["sigmoid"] * K
    w = deepcopy(weights)  # w[a][j][i]: unit i of layer a -> unit j of layer a+1
    b = deepcopy(biases) if bias != "none" else None
    m, v = {}, {}
    for name in params(layers, bias):
        m[name] = v[name] = 0.0
    hyper = dict(hyper)
    lr0 = hyper["lr"]

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
                layer.append(ACTIVATION[acts[a]](z))
            ys.append(layer)
        return ys

    def deltas_of(a, ys, t, d_above):
        """dE/dz for layer a (1..K) of one pattern, from the deltas of layer a+1."""
        out = []
        slope = SLOPE[acts[a - 1]]
        for j in range(layers[a]):
            y = ys[a][j]
            if a == K:
                out.append(y - t[j] if loss == "cross_entropy"
                           else (y - t[j]) * (slope(y) + prime_offset))
            else:
                s = d_above[0] * w[a][0][j]
                for k in range(1, layers[a + 1]):
                    s = s + d_above[k] * w[a][k][j]
                out.append(s * (slope(y) + prime_offset))
        return out

    def grads_of(a, all_ys, all_d, batch_patterns):
        """{param: gradient summed over the batch's patterns} for weight layer a."""
        g = {}
        first, rest = batch_patterns[0], batch_patterns[1:]
        for j in range(layers[a + 1]):
            for i in range(layers[a]):
                s = all_d[first][a + 1][j] * all_ys[first][a][i]
                for p in rest:
                    s = s + all_d[p][a + 1][j] * all_ys[p][a][i]
                g["w", a, j, i] = s
        if bias == "trained":
            for j in range(layers[a + 1]):
                s = all_d[first][a + 1][j]
                for p in rest:
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

    P = len(inputs)
    B = P if batch is None else min(batch, P)
    batches = [list(range(s, min(P, s + B))) for s in range(0, P, B)]
    key = 0 if seed is None else splitmix64(seed) >> 40
    step = 1
    while True:
        k = step - 1  # epochs before this one
        kind = (schedule or {}).get("kind", "constant")
        if kind == "step" and k > 0 and k % schedule["step_size"] == 0:
            hyper["lr"] = hyper["lr"] * schedule["gamma"]
        elif kind == "exponential" and k > 0:
            hyper["lr"] = hyper["lr"] * schedule["gamma"]
        elif kind == "inverse_time":
            hyper["lr"] = lr0 / (1 + schedule["decay"] * k)
        all_ys = [forward(x) for x in inputs]
        E, err = 0.0, 0.0
        first = True
        for ys, t in zip(all_ys, targets):
            for j, tj in enumerate(t):
                y = ys[K][j]
                d = y - tj
                if loss == "cross_entropy":
                    e = (tj - 1) * clamp(ln(-y, log1p)) - tj * clamp(ln(y))
                else:
                    e = 1 / 2 * (d * d)
                E = e if first else E + e
                err = abs(d) if first else max(err, abs(d))
                first = False
        finite = all(isfinite(x) for name in params(layers, bias) for x in [value(w, b, name)])
        out = all_ys[0][K][0]
        if losses is not None:
            losses.append(E)
        if not (isfinite(E) and finite):
            return step, "diverged", E, out
        if (err < margin) if margin > 0 else (E < tol):
            return step, "converged", E, out
        if step >= max_steps:
            return step, "max_steps", E, out
        sequence = epoch_order(key, step, P) if shuffle else list(range(P))
        for n, positions in enumerate(batches):
            pats = [sequence[q] for q in positions]
            t_update = (step - 1) * len(batches) + n + 1
            if n > 0:  # weights have moved since the epoch's forward pass
                for p in pats:
                    all_ys[p] = forward(inputs[p])
            all_d = [[None] * (K + 2) for _ in inputs]
            if optimizer == "nadam":
                c[0] = mu_product(c[0], t_update, hyper["beta"], hyper["momentum_decay"])
            if order == "inplace":
                for a in range(K - 1, -1, -1):  # weight layer a, from the top
                    for p in pats:
                        all_d[p][a + 1] = deltas_of(a + 1, all_ys[p], targets[p],
                                                    all_d[p][a + 2])  # updated w
                    update(grads_of(a, all_ys, all_d, pats), t_update)
            else:
                for p in pats:
                    for a in range(K, 0, -1):
                        all_d[p][a] = deltas_of(a, all_ys[p], targets[p], all_d[p][a + 1])
                g = {}
                for a in range(K - 1, -1, -1):
                    g.update(grads_of(a, all_ys, all_d, pats))
                update(g, t_update)
        step += 1


M64 = (1 << 64) - 1


def splitmix64(x):
    """SplitMix64's output function on a Python integer."""
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def epoch_order(key, epoch, P):
    """The patterns' order in an epoch: Fisher-Yates from the last position down, position
    i swapped with the one drawn from (key, epoch, i)."""
    order = list(range(P))
    for i in range(P - 1, 0, -1):
        j = (splitmix64((key << 40) ^ (epoch << 12) ^ i) >> 11) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def params(layers, bias):
    out = []
    for a in range(len(layers) - 1):
        out += [("w", a, j, i) for j in range(layers[a + 1]) for i in range(layers[a])]
        if bias != "none":
            out += [("b", a, j) for j in range(layers[a + 1])]
    return out


def value(w, b, name):
    return w[name[1]][name[2]][name[3]] if name[0] == "w" else b[name[1]][name[2]]
