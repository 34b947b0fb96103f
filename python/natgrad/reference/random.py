"""Pure-NumPy twin of the compiled normal generator (``_core.standard_normal``), bit for bit.

The stream of a 64-bit key (cpp/include/natgrad/normal.hpp has the same text):

* **Words.** Eight xoshiro256++ generators side by side (Blackman & Vigna, "Scrambled linear
  pseudorandom number generators", ACM TOMS 47(4), 2021). Lane l starts from the state words
  ``splitmix64(key, 4l + w)``, w = 0..3, where ``splitmix64(key, i)`` is SplitMix64's output i
  for the seed key (Steele, Lea & Flood, OOPSLA 2014). Word i of the stream is lane i mod 8's
  output number i // 8.
* **Normals.** The ziggurat of Marsaglia & Tsang (J. Stat. Softw. 5(8), 2000) with 256 layers
  (tables in ``_normal_tables``). Normal i takes word w: layer k = w & 255, sign = bit 8,
  rabs = w >> 12 (52 bits), x = rabs W[k], accepted when rabs < K[k] (about 98.8 %). Otherwise
  the wedge test, or for k = 0 the tail x > r, decides. Their further words are
  ``splitmix64(mix(key ^ salt), (i << 24) + j)`` for j = 0, 1, ..., and a rejected candidate is
  replaced by the next such word.
* **Arithmetic.** ln and exp are fdlibm's polynomials (e_log.c, e_exp.c) in +, −, ×, / only.
  Each is correctly rounded in IEEE double, with no fused multiply-add here or in the compiled
  code, so the two agree bit for bit.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .._validation import FloatArray
from ._normal_tables import F, K, W

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
SLOW_SALT = 0xD1B54A32D192ED03
LANES = 8
TAIL_EDGE = 3.6541528853610087963519472518

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_INV_LN2 = 1.44269504088896338700e00
_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)
_ROUND_MAGIC = 6755399441055744.0  # 1.5 · 2^52


def mix(z: int) -> int:
    """SplitMix64's finaliser."""
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def splitmix64(key: int, index: int) -> int:
    """SplitMix64's output number ``index`` for the seed ``key``."""
    return mix((key + (index + 1) * GAMMA) & MASK64)


def _bits(x: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def _double(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits & MASK64))[0])


def log_positive(u: float) -> float:
    """ln(u) for a positive normal float, by fdlibm's e_log.c reduction and polynomial."""
    bits = _bits(u)
    fraction = bits & 0x000FFFFFFFFFFFFF
    high = 1 if fraction > 0x6A09E667F3BCD else 0  # m in (√2, 2): use m / 2
    m = _double(fraction | (0x3FF0000000000000 - (high << 52)))
    e = float((bits >> 52) + high) - 1023.0
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return e * _LN2_HI - ((hfsq - (s * (hfsq + r) + e * _LN2_LO)) - f)


def exp_nonpositive(x: float) -> float:
    """exp(x) for x in [−708, 0], by fdlibm's e_exp.c reduction and polynomial."""
    k = (x * _INV_LN2 + _ROUND_MAGIC) - _ROUND_MAGIC
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    t = hi - lo
    tt = t * t
    c = t - tt * (_P[0] + tt * (_P[1] + tt * (_P[2] + tt * (_P[3] + tt * _P[4]))))
    y = 1.0 - ((lo - (t * c) / (2.0 - c)) - hi)
    return y * _double((int(k) + 1023) << 52)


def _unit_open0(w: int) -> float:
    """(0, 1]: 1 − (w >> 12) 2^-52."""
    return 2.0 - _double((w >> 12) | 0x3FF0000000000000)


def xoshiro_words(key: int, count: int) -> np.ndarray:
    """Words 0 .. count of the stream of ``key``: 8 xoshiro256++ lanes, interleaved."""
    s = np.array(
        [[splitmix64(key, 4 * lane + w) for lane in range(LANES)] for w in range(4)],
        dtype=np.uint64,
    )
    steps = -(-count // LANES)
    out = np.empty((steps, LANES), dtype=np.uint64)
    s0, s1, s2, s3 = s
    for t in range(steps):
        total = s0 + s3
        out[t] = ((total << np.uint64(23)) | (total >> np.uint64(41))) + s0
        shifted = s1 << np.uint64(17)
        s2 = s2 ^ s0
        s3 = s3 ^ s1
        s1 = s1 ^ s2
        s0 = s0 ^ s3
        s2 = s2 ^ shifted
        s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return out.reshape(-1)[:count]


def _slow(slow_key: int, i: int, w: int) -> float:
    """Normal i whose first word w fell outside its layer's inner rectangle."""
    counter = i << 24

    def word() -> int:
        nonlocal counter
        counter += 1
        return mix((slow_key + counter * GAMMA) & MASK64)

    while True:
        layer = w & 0xFF
        negative = (w >> 8) & 1
        rabs = w >> 12
        if rabs < K[layer]:
            x = float(rabs) * W[layer]
            return -x if negative else x
        if layer == 0:
            while True:
                a = -log_positive(_unit_open0(word())) / TAIL_EDGE
                b = -log_positive(_unit_open0(word()))
                if b + b > a * a:
                    x = TAIL_EDGE + a
                    return -x if negative else x
        x = float(rabs) * W[layer]
        u = float(word() >> 12) * 2.0**-52
        y = F[layer] + u * (F[layer + 1] - F[layer])
        if y < exp_nonpositive(-0.5 * (x * x)):
            return -x if negative else x
        w = word()


def standard_normal(key: int, rows: int, cols: int) -> FloatArray:
    """The (rows, cols) matrix of the stream's first rows · cols normals, row-major."""
    count = rows * cols
    words = xoshiro_words(key, count)
    layer = (words & np.uint64(0xFF)).astype(np.intp)
    rabs = words >> np.uint64(12)
    z = rabs.astype(np.float64) * np.asarray(W)[layer]  # rabs < 2^52: exact
    z = np.where((words >> np.uint64(8)) & np.uint64(1), -z, z)
    slow = rabs >= np.asarray(K, dtype=np.uint64)[layer]
    slow_key = mix(key ^ SLOW_SALT)
    for i in np.flatnonzero(slow):
        z[i] = _slow(slow_key, int(i), int(words[i]))
    return z.reshape(rows, cols)


def mirrored_standard_normal(key: int, rows: int, cols: int) -> FloatArray:
    """``standard_normal(key, rows, cols)`` with rows h..2h − 1 (h = rows // 2) replaced by the
    negated rows 0..h − 1: the draws of mirrored sampling (``_core.standard_normal(...,
    mirrored=True)``, which draws only the rows it keeps)."""
    z = standard_normal(key, rows, cols)
    h = rows // 2
    z[h : 2 * h] = -z[:h]
    return z


def tail_probability(x: float) -> float:
    """P(|Z| > x) for a standard normal Z (for the tests' tail counts)."""
    return math.erfc(x / math.sqrt(2.0))
