// Child process of node.ts (probeNodeWebGpu): loads the `webgpu` package (its file URL is argv[2]),
// asks Dawn for an adapter and prints one JSON line. Run apart so that what Dawn itself prints
// while it looks for drivers (Vulkan loader warnings) never reaches the user's terminal.
const url = process.argv[2];
let mod;
try {
  mod = await import(url);
} catch (err) {
  console.log(JSON.stringify({ ok: false, kind: "load", reason: String(err?.message ?? err).split("\n")[0] }));
  process.exit(0);
}
try {
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    console.log(JSON.stringify({ ok: false, kind: "adapter", reason: "requestAdapter() returned null" }));
  } else {
    const i = adapter.info ?? {};
    console.log(
      JSON.stringify({
        ok: true,
        info: {
          vendor: i.vendor,
          architecture: i.architecture,
          device: i.device,
          description: i.description,
          fallback: i.isFallbackAdapter === true,
        },
      }),
    );
  }
} catch (err) {
  console.log(JSON.stringify({ ok: false, kind: "adapter", reason: String(err?.message ?? err).split("\n")[0] }));
}
process.exit(0);
