// Entry point of a training worker thread: registers the TypeScript loader, then loads the worker.
import { register } from "tsx/esm/api";
register();
await import("./worker.ts");
