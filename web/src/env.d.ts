/** Build-time constants set by vite.config.ts (`define`). */
declare const __NEURALRG_VERSION__: string;
declare const __NEURALRG_COMMIT__: string;
