// Entry point of a mutual-information worker thread: registers the TypeScript loader, then loads the worker.
import { register } from "tsx/esm/api";
register();
await import("./mi-worker.ts");
