/**
 * Child process of bench/memory.ts: runs `neuralrg <args>` in this process (the real CLI code
 * path, including --workers threads, which share this process's RSS) and prints one JSON line
 * with the process's peak resident set size, wall time and CPU time:
 *   {"exit": 0, "peak_rss_mb": 123.4, "wall_s": 5.6, "cpu_s": 9.8}
 * The CLI's own stdout is discarded, its stderr passed through.
 */
import { main } from "../src/cli/main.ts";

const t0 = performance.now();
const exit = await main(process.argv.slice(2), {
  out: () => {},
  err: (t) => void process.stderr.write(t),
  errIsTTY: false,
});
const ru = process.resourceUsage();
process.stdout.write(
  JSON.stringify({
    exit,
    peak_rss_mb: ru.maxRSS / 1024, // maxRSS is in kB
    wall_s: (performance.now() - t0) / 1000,
    cpu_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
  }) + "\n",
);
process.exitCode = exit;
