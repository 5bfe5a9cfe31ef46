/**
 * Worker thread of `mutualInformationMatrixParallel` (mi.ts): receives the data once, then
 * computes the KSG estimates of the pairs (a, b > a) for the rows a it is asked for.
 */
import { parentPort } from "node:worker_threads";
import { MiRowComputer } from "./mi.ts";

interface InitMessage {
  init: { data: Float64Array; n: number; d: number; k: number };
}
interface RowMessage {
  row: number;
}

if (!parentPort) throw new Error("mi-worker.ts must run in a worker thread");
const port = parentPort;
let computer: MiRowComputer | null = null;
port.on("message", (m: InitMessage | RowMessage) => {
  try {
    if ("init" in m) {
      computer = new MiRowComputer(m.init.data, m.init.n, m.init.d, m.init.k);
      port.postMessage({ ready: true });
    } else {
      if (!computer) throw new Error("mi worker used before init");
      port.postMessage({ row: m.row, values: computer.row(m.row) });
    }
  } catch (err) {
    port.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});
