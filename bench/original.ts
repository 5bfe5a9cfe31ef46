/**
 * Times the original NeuralRG PyTorch code (a checkout given by the user; never part of this
 * repository) with the README configuration: batch 512, 10 couplings, 3 hidden layers of 10,
 * MERA without repeat, symmetrised, HMC skipped. Single-threaded (OMP/MKL = 1), pinned to one
 * core, under an address-space cap (prlimit). Per-epoch wall time from the arrival of its "epoch:" lines and per-epoch
 * CPU time from /proc/<pid>/stat (utime + stime), so the ratio is robust to other load.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface OriginalTiming {
  /** epochs timed (after the warm-up) */
  epochs: number;
  epoch_s_median: number;
  epoch_cpu_s_median: number;
  first_epoch_s: number;
  final_F: number;
}

function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/**
 * Runs warmupEpochs + epochs epochs and times the last `epochs` (the first includes start-up; the
 * warm-up is the same count bench/epoch.ts leaves untimed for our kernels).
 */
export function timeOriginal(
  src: string,
  L: number,
  epochs: number,
  warmupEpochs = 3,
  cores = "1",
): Promise<OriginalTiming> {
  const tmp = mkdtempSync(join(tmpdir(), "neuralrg-orig-"));
  // address-space cap (NEURALRG_ORIGINAL_MAX_GB, default 8): the original's memory grows with L
  // (15 GB RSS seen at L = 32), which would starve everything else on a shared machine
  const maxGb = Number(process.env.NEURALRG_ORIGINAL_MAX_GB ?? 8);
  const args = [
    "--as=" + String(Math.round(maxGb * 2 ** 30)),
    "taskset",
    "-c",
    cores,
    "/usr/bin/python3",
    "-u",
    join(src, "main.py"),
    "-epochs",
    String(warmupEpochs + epochs),
    "-batch",
    "512",
    "-nlayers",
    "10",
    "-nmlp",
    "3",
    "-nhidden",
    "10",
    "-L",
    String(L),
    "-nrepeat",
    "1",
    "-savePeriod",
    "1000000",
    "-symmetry",
    "-skipHMC",
    "-folder",
    tmp + "/run/",
  ];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn("prlimit", args, { cwd: src, env: { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" } });
    const wall: number[] = [];
    const cpu: number[] = [];
    let lastF = NaN;
    let buf = "";
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith("epoch:")) {
          wall.push(performance.now() - t0);
          cpu.push(cpuSeconds(p.pid!));
          const m = /F: (\S+)/.exec(line);
          if (m) lastF = Number(m[1]);
        }
      }
    });
    p.stderr.on("data", () => {});
    p.on("error", reject);
    p.on("close", (code) => {
      rmSync(tmp, { recursive: true, force: true });
      if (code !== 0 || wall.length < warmupEpochs + 1)
        return reject(new Error(`original run failed (exit ${code}, ${wall.length} epochs)`));
      // epoch k (0-based) lasts from the line of epoch k − 1 to its own: keep k ≥ warmupEpochs
      const dw = wall.slice(warmupEpochs).map((t, k) => (t - wall[warmupEpochs - 1 + k]) / 1000);
      const dc = cpu.slice(warmupEpochs).map((t, k) => t - cpu[warmupEpochs - 1 + k]);
      resolve({
        epochs: dw.length,
        epoch_s_median: median(dw),
        epoch_cpu_s_median: median(dc),
        first_epoch_s: wall[0] / 1000,
        final_F: lastF,
      });
    });
  });
}

// CLI: node bin/run-ts.mjs bench/original.ts SRC L EPOCHS [WARMUP_EPOCHS] → one JSON line
if (process.argv[1]?.endsWith("original.ts")) {
  const [src, L, epochs, warmup] = process.argv.slice(2);
  timeOriginal(src, Number(L), Number(epochs), Number(warmup ?? 3)).then(
    (r) => console.log(JSON.stringify(r)),
    (e: Error) => {
      console.error(e.message);
      process.exitCode = 1;
    },
  );
}
