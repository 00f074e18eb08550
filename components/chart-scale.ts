// Axis arithmetic for the console's charts: round tick steps and pixel mapping.

/** The smallest 1-2-5 step that splits [0, max] into at most `count` intervals. */
export function niceStep(max: number, count: number): number {
  if (!(max > 0) || count <= 0) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * magnitude >= raw) return factor * magnitude;
  }
  return 10 * magnitude;
}

/** Ticks from 0 to a round maximum that covers `max`; a flat zero series gets [0, 1]. */
export function niceTicks(max: number, count = 4): number[] {
  const step = niceStep(max > 0 ? max : 1, count);
  const top = Math.max(step, Math.ceil((max > 0 ? max : 1) / step) * step);
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Time ticks at whole multiples of `stepMs` inside [fromMs, toMs]. */
export function timeTicks(fromMs: number, toMs: number, stepMs: number): number[] {
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / stepMs) * stepMs; t <= toMs; t += stepMs) ticks.push(t);
  return ticks;
}

/** An SVG path through the points; NaN values break the line instead of dropping to zero. */
export function linePath(xs: readonly number[], ys: readonly number[]): string {
  let d = "";
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (x === undefined || y === undefined || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}
