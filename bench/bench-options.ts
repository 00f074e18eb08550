// Command-line options of `npm run bench`.

export interface BenchOptions {
  /** Measured seconds per cell (after a 1 s warm-up). */
  durationSeconds: number;
  warmUpSeconds: number;
  /** Times every cell is measured; rounds interleave targets so drift hits all of them alike. */
  rounds: number;
  loads: Array<{ connections: number; streams: number }>;
}

export const benchUsage = `usage: npm run bench -- [--quick] [--loads=1x1,4x10,16x10] [--duration=SECONDS] [--rounds=N]
  --quick       loads 1x1,4x10,16x10, 2 s per cell, one round (about a minute)
  default       loads 1x1,1x10,4x10,16x10, 3 s per cell, three rounds (about five minutes)`;

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const known = ["--quick", "--loads=", "--duration=", "--rounds="];
  for (const arg of argv) {
    if (!known.some((k) => (k.endsWith("=") ? arg.startsWith(k) : arg === k))) {
      throw new Error(`unknown option ${arg}\n${benchUsage}`);
    }
  }
  const quick = argv.includes("--quick");
  const value = (name: string) =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const loads = (value("loads") ?? (quick ? "1x1,4x10,16x10" : "1x1,1x10,4x10,16x10"))
    .split(",")
    .map((spec) => {
      const [c, m, extra] = spec.split("x").map(Number);
      if (!c || !m || extra !== undefined || c > 1000 || m > 1000) {
        throw new Error(`--loads: "${spec}" is not CONNECTIONSxSTREAMS (each 1..1000)`);
      }
      return { connections: c, streams: m };
    });
  const durationSeconds = Number(value("duration") ?? (quick ? 2 : 3));
  if (!Number.isInteger(durationSeconds) || durationSeconds < 1 || durationSeconds > 60) {
    throw new Error("--duration must be a whole number of seconds from 1 to 60");
  }
  const rounds = Number(value("rounds") ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
    throw new Error("--rounds must be a whole number from 1 to 10");
  }
  return { durationSeconds, warmUpSeconds: 1, rounds, loads };
}
