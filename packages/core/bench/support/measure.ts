// What every benchmark script here shares: medians of interleaved rounds, and agreement checks.

/** The median of a list of timings (the upper one for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
}

/** The largest difference between `a` and `ref`, relative to each reference array's largest magnitude. */
export function relativeDifference(a: Float32Array[], ref: Float32Array[]): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const x = a[i]!;
    let scale = 0;
    let diff = 0;
    for (let j = 0; j < r.length; j++) {
      scale = Math.max(scale, Math.abs(r[j]!));
      diff = Math.max(diff, Math.abs(x[j]! - r[j]!));
    }
    worst = Math.max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

/** The first line of an error's message, short enough for a table's footnote. */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 90);
}
