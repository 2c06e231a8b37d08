// Scalar math the JS standard library lacks, accurate to ~1e-15 so the reference stays an oracle.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Error function: Maclaurin series near 0, continued fraction for erfc further out. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (ax < 2.5) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return sign * TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return sign;
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up.
  let f = ax;
  for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
  return sign * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
}

export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** pow as C99 Annex F (and torch, whose CPU and CUDA kernels call std::pow): unlike JS's
 * Math.pow, pow(1, y) = 1 and pow(-1, ±inf) = 1 even for NaN and infinite y. */
export function powC(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}
