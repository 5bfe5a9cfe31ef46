// Entry of a scan pool thread (tinypool): registers the TypeScript loader, then exports the task.
import { register } from "tsx/esm/api";
register();
const { runPoint } = await import("./point-worker.ts");
export default runPoint;
