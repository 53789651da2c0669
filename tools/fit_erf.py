#!/usr/bin/env python3
"""Fits lamina's own polynomial coefficients for the SIMD gelu kernel (lamina/kernels/cpu/simd.cpp)
and prints them as the C++ tables that file holds (paste the output over the generated block).

gelu(x) = 0.5 x erfc(-x / sqrt 2) is split at |x| = 0.5:

  |x| < 0.5   gelu = 0.5 x (1 + x Q(x^2)),  Q(w) = erf(sqrt(w / 2)) / sqrt(w)
              (1 + erf stays above 0.6 here, so the sum loses nothing for negative x).
  |x| >= 0.5  the erfc side m = 0.5 |x| erfc(|x| / sqrt 2) is the exp of a smooth function, so it
              keeps full relative accuracy far into the negative tail, where 1 + erf would cancel
              to 0 (gelu = -m for x < 0, x - m for x > 0):
    [0.5, 4)  m = 0.5 |x| exp(-x^2/2 + C_k + P_k(v)), P_k ~ M - C_k on the octave [2^k, 2^(k+1)),
              M(|x|) = log(erfc(|x| / sqrt 2)) + x^2 / 2, v = |x| 2^-k - 1.5 in [-0.5, 0.5) (exact in
              the kernel), C_k a 10-bit constant near M's middle value, so that -x^2/2 + C_k can be
              formed exactly and the polynomial stays small. M, unlike log(m) + x^2/2, has no log|x|
              singularity at 0, so the polynomials converge fast.
    [4, inf)  m = exp(-x^2/2 + C + L(t)), t = 1 / x^2, L(|x|) = log(0.5 |x| erfc) + x^2/2 - C,
              which stays bounded as t -> 0; C = -0.9189453125 is a 10-bit number next to
              -log sqrt(2 pi). Two pieces, t in [1/64, 1/16] and (0, 1/64], as polynomials in
              t - (the piece's middle). Double's gelu underflows to 0 below x = -38.6.
  float32 (evaluated in double, but only float's 24 bits are needed) uses lower-degree Q and plain
  M (no C_k) on the octaves [0.5, 1) ... [8, 16); float's gelu underflows below x = -14.3.

Each piece is the polynomial that interpolates the function at Chebyshev nodes (close to the
minimax polynomial), found by solving the Vandermonde system in 60-digit decimal arithmetic. The
references are summed here in the same arithmetic: erf's Taylor series, and for erfc either
1 - erf (|x| <= 3 sqrt 2, with 20 guard digits) or its continued fraction. The script checks every
piece on a dense grid: the error of the exact fit, of the coefficients rounded to double, and of a
double Horner evaluation without FMA (relative for Q, absolute for M and L; an absolute error e in
the exponent is a relative error e in m), and fails if a fit is not far below double's (float's)
rounding. Run: .venv/bin/python tools/fit_erf.py > /tmp/gelu_tables.txt (standard library only).
"""
from __future__ import annotations

import math
import sys
from decimal import Decimal as D, getcontext

getcontext().prec = 60

# --- references in 60-digit decimal arithmetic -------------------------------------------------


def dec_pi() -> D:
    # Gauss-Legendre iteration (quadratic convergence; 7 rounds give > 100 digits).
    getcontext().prec += 10
    a, b, t, p = D(1), D(1) / D(2).sqrt(), D(1) / 4, D(1)
    for _ in range(7):
        an = (a + b) / 2
        b = (a * b).sqrt()
        t -= p * (a - an) ** 2
        a, p = an, 2 * p
    pi = (a + b) ** 2 / (4 * t)
    getcontext().prec -= 10
    return +pi


PI = dec_pi()
SQRT_PI = PI.sqrt()
SQRT2 = D(2).sqrt()
LOG_SQRT_2PI = (2 * PI).sqrt().ln()
C_EXP = D("-0.9189453125")  # the constant folded into the exact part of the exponent


def erf_over_z(z2: D) -> D:
    """erf(z) / z from the Taylor series, z2 = z^2 (used for z^2 <= 9)."""
    term, total, n = D(1), D(1), 0
    eps = D(10) ** -(getcontext().prec + 5)
    while True:
        n += 1
        term = -term * z2 / n  # (-1)^n z^2n / n!
        add = term / (2 * n + 1)
        total += add
        if abs(add) < eps:
            break
    return 2 / SQRT_PI * total


def scaled_erfc(a: D) -> D:
    """sqrt(pi) exp(a^2) erfc(a) for a > 0."""
    if a <= 3:
        getcontext().prec += 20
        r = SQRT_PI * (a * a).exp() * (1 - a * erf_over_z(a * a))
        getcontext().prec -= 20
        return +r
    # erfc(a) = exp(-a^2) / sqrt(pi) * 1 / (a + (1/2) / (a + (2/2) / (a + (3/2) / (a + ...))))
    f = a
    for k in range(4000, 0, -1):
        f = a + D(k) / 2 / f
    return 1 / f


def q_ref(w: D) -> D:  # Q(w) = erf(sqrt(w / 2)) / sqrt(w), w = x^2
    return erf_over_z(w / 2) / SQRT2


def m_ref(ax: D) -> D:  # M(|x|) = log(erfc(|x| / sqrt 2)) + x^2 / 2
    a = ax / SQRT2
    return (scaled_erfc(a) / SQRT_PI).ln()


def l_ref(ax: D) -> D:  # L(|x|) = log(0.5 |x| erfc(|x| / sqrt 2)) + x^2 / 2 - C
    a = ax / SQRT2
    return (a * scaled_erfc(a)).ln() - LOG_SQRT_2PI - C_EXP


# Degrees of the pieces: (k, degree) for the dyadic intervals [2^k, 2^(k+1)), and the far piece.
DYADIC = ((-1, 12), (0, 14), (1, 16))
FAR = ((1.0 / 64, 1.0 / 16, 14), (0.0, 1.0 / 64, 12))
# float32's pieces (evaluated in double, but only float's 24 bits are needed): Q and plain M on
# the octaves [0.5, 1) ... [8, 16) (float's gelu underflows to 0 below x = -14.3).
F32_Q_DEGREE = 5
F32_OCTAVES = ((-1, 10), (0, 10), (1, 10), (2, 10), (3, 10))

# --- fitting ------------------------------------------------------------------------------------


def solve(m: list[list[D]], y: list[D]) -> list[D]:
    """Gaussian elimination with partial pivoting, in decimal arithmetic."""
    n = len(y)
    a = [row[:] + [y[i]] for i, row in enumerate(m)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        a[c], a[p] = a[p], a[c]
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            for k in range(c, n + 1):
                a[r][k] -= f * a[c][k]
    x = [D(0)] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][k] * x[k] for k in range(r + 1, n))) / a[r][r]
    return x


def chebyshev_fit(f, lo: float, hi: float, degree: int, round_to_double: bool = True) -> list:
    """Monomial coefficients (in the variable s itself) of the polynomial that interpolates f
    at the degree + 1 Chebyshev nodes of [lo, hi], rounded to double."""
    n = degree + 1
    nodes = [D((lo + hi) / 2 + (hi - lo) / 2 * math.cos(math.pi * (j + 0.5) / n)) for j in range(n)]
    coef = solve([[s**k for k in range(n)] for s in nodes], [f(s) for s in nodes])
    return [float(c) for c in coef] if round_to_double else coef


def horner_dec(c: list, s: D) -> D:
    r = D(c[-1])
    for k in range(len(c) - 2, -1, -1):
        r = r * s + D(c[k])
    return r


def horner_f64(c: list[float], s: float) -> float:
    r = c[-1]
    for k in range(len(c) - 2, -1, -1):
        r = r * s + c[k]  # no FMA here, so this is the pessimistic (non-FMA target) rounding
    return r


def check(c, f, lo, hi, relative, points=1500):
    """Worst error of the exact interpolant (fit), of the polynomial with coefficients rounded to
    double, and of that polynomial evaluated in double, on a dense grid."""
    worst = [0.0, 0.0, 0.0]
    exact = chebyshev_fit(f, lo, hi, len(c) - 1, round_to_double=False)
    for i in range(points):
        s = lo + (hi - lo) * (i + 0.5) / points  # (not on t = 0, |x| = inf)
        want = f(D(s))
        for j, got in enumerate((horner_dec(exact, D(s)), horner_dec(c, D(s)), D(horner_f64(c, s)))):
            err = abs(got - want) / (abs(want) if relative else 1)
            worst[j] = max(worst[j], float(err))
    return worst


def emit(name: str, c: list[float], note: str) -> None:
    """Prints a C++ table, wrapped to lamina's 120 columns."""
    print(f"// {note}")
    lines, line = [], f"constexpr double {name}[{len(c)}] = {{"
    for i, x in enumerate(c):
        item = repr(x) + ("," if i + 1 < len(c) else "};")
        if len(line) + 1 + len(item) > 120:
            lines.append(line)
            line = "    " + item
        else:
            line += ("" if line.endswith("{") else " ") + item
    print("\n".join(lines + [line]))


def main() -> int:
    ulp = 2.0**-53
    ok = True
    fits = []
    # Q(w) on w in [0, 0.25] (|x| < 0.5): relative error.
    q = chebyshev_fit(q_ref, 0.0, 0.25, 8)
    fits.append(("kGeluQ", q, "Q(w) = erf(sqrt(w/2))/sqrt(w), w = x^2 in [0, 0.25]", q_ref, 0.0, 0.25, True))
    # M - C_k on [2^k, 2^(k+1)) in v = |x| 2^-k - 1.5; C_k is M near the middle, cut to 10 bits.
    consts = []
    for k, deg in DYADIC:
        s = 2.0**k
        mid = m_ref(D(1.5 * s))
        ck = round(float(mid) * 1024) / 1024
        consts.append(ck)
        f = (lambda s, ck: lambda v: m_ref((v + D("1.5")) * D(s)) - D(ck))(s, ck)
        c = chebyshev_fit(f, -0.5, 0.5, deg)
        fits.append((f"kGeluM{k + 1}", c, f"M(|x|) - ({ck!r}) for |x| in [{s:g}, {2 * s:g}), v = |x| * {1 / s:g} - 1.5",
                     f, -0.5, 0.5, False))
    # L on [4, 8) and [8, inf) in t = 1 / x^2, as a polynomial in t - (the middle of its t interval).
    for i, (lo, hi, deg) in enumerate(FAR):
        mid = (lo + hi) / 2
        f = (lambda mid: lambda u: l_ref(1 / (u + D(mid)).sqrt()))(mid)
        c = chebyshev_fit(f, lo - mid, hi - mid, deg)
        fits.append((f"kGeluL{i}", c, f"L(|x|) for 1 / x^2 in [{lo!r}, {hi!r}], u = 1 / x^2 - {mid!r}",
                     f, lo - mid, hi - mid, False))

    # float32's tables: the fit error must sit far below float's rounding (2^-24).
    fits32 = []
    q = chebyshev_fit(q_ref, 0.0, 0.25, F32_Q_DEGREE)
    fits32.append(("kGeluQf", q, "float32: Q(w) on w = x^2 in [0, 0.25]", q_ref, 0.0, 0.25, True))
    for k, deg in F32_OCTAVES:
        s = 2.0**k
        f = (lambda s: lambda v: m_ref((v + D("1.5")) * D(s)))(s)
        c = chebyshev_fit(f, -0.5, 0.5, deg)
        note = f"float32: M(|x|) for |x| in [{s:g}, {2 * s:g}), v = |x| * {1 / s:g} - 1.5"
        fits32.append((f"kGeluMf{k + 1}", c, note, f, -0.5, 0.5, False))

    print("// Generated by tools/fit_erf.py; do not edit by hand.")
    print("// C, the exact 10-bit constant next to -log sqrt(2 pi) in the exponent for |x| >= 4")
    print(f"constexpr double kGeluC = {float(C_EXP)!r};")
    mids = ", ".join(repr((lo + hi) / 2) for lo, hi, _ in FAR)
    print("// middles of the 1 / x^2 intervals of kGeluL0 and kGeluL1")
    print(f"constexpr double kGeluLMid[{len(FAR)}] = {{{mids}}};")
    print("// C_k, exact 10-bit constants taken out of M on each |x| interval [0.5, 1), [1, 2), [2, 4)")
    print(f"constexpr double kGeluMConst[{len(consts)}] = {{{', '.join(repr(x) for x in consts)}}};")
    for name, c, note, *_ in fits + fits32:
        emit(name, c, note)
    print(file=sys.stderr)
    for name, c, note, f, lo, hi, relative in fits:
        fit, rounded, f64 = check(c, f, lo, hi, relative)
        kind = "relative" if relative else "absolute"
        print(f"{name:8s} degree {len(c) - 1:2d}: max {kind} error of the fit {fit:.3g} ({fit / ulp:.4f} ulp of 1), "
              f"with coefficients in double {rounded / ulp:.3f} ulp, with double Horner too {f64 / ulp:.3f} ulp",
              file=sys.stderr)
        # The fit must sit well below the double rounding of the evaluation itself.
        if fit > 0.1 * ulp:
            print(f"  {name}: fit error too large", file=sys.stderr)
            ok = False
    for name, c, note, f, lo, hi, relative in fits32:
        fit, rounded, f64 = check(c, f, lo, hi, relative, points=400)
        print(f"{name:8s} degree {len(c) - 1:2d}: max error with double Horner {f64:.3g} "
              f"({f64 / 2.0**-24:.2g} float ulp of 1)", file=sys.stderr)
        if f64 > 1e-2 * 2.0**-24:
            print(f"  {name}: fit error too large", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
