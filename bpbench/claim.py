"""The post's claim, as it printed it, and the check that bpbench reproduces it.

The post trains its network with gradient descent (lr 1) and with what it calls momentum
(really RMSprop, lr 0.1, beta 0.999, eps 0.01), updating weights in place in its own order
("seed"), and prints the trace below. ``check`` recomputes every printed line.
"""
import re

POST = {
    ("sgd", (("lr", 1.0),)): """\
step = 1: yp = 0.6902834929076443, Error = 0.01810390383656677
step = 2: yp = 0.6820312027460466, Error = 0.016567679386586154
step = 3: yp = 0.6739592936119999, Error = 0.015130917916992996
step = 4: yp = 0.6660860653430867, Error = 0.013792290550574028
step = 110: yp = 0.500455314229855, Error = 1.036555239542297e-07
step = 111: yp = 0.5004302844701667, Error = 9.2572362633313e-08""",
    ("rmsprop", (("lr", 0.1), ("beta", 0.999), ("eps", 0.01))): """\
step = 1: yp = 0.6902834929076443, Error = 0.01810390383656677
step = 2: yp = 0.6118790538896405, Error = 0.006258461349620539
step = 3: yp = 0.5593494607066376, Error = 0.0017611792430843605
step = 4: yp = 0.5301730589054645, Error = 0.00045520674185631563
step = 5: yp = 0.5151484953395415, Error = 0.00011473845552605596
step = 6: yp = 0.5075810359788381, Error = 2.873605325621872e-05
step = 7: yp = 0.5037909668833773, Error = 7.185714955431785e-06
step = 8: yp = 0.5018953359787233, Error = 1.7961492361214424e-06
step = 9: yp = 0.5009475298860605, Error = 4.48906442488917e-07
step = 10: yp = 0.5004736747645289, Error = 1.1218389127573745e-07
step = 11: yp = 0.5002367820786155, Error = 2.803287637675012e-08""",
}
LINE = re.compile(r"step = (\d+): yp = (\S+), Error = (\S+)")


def post_line(step, output, loss):
    """A trace line in the post's format (Python's shortest repr of each float)."""
    return f"step = {step}: yp = {float(output)}, Error = {float(loss)}"


def printed_steps(text):
    """The step numbers the post printed, the last being its reported step count."""
    return [int(m.group(1)) for m in LINE.finditer(text)]
