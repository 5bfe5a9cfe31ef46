/**
 * The committed src/kernels/wasm/block.wasm and block-relaxed.wasm are what `npm run build:wasm`
 * makes from block.as.ts: rebuild into a temporary file with the very flags of that script and compare
 * bytes (asc is deterministic and the output does not depend on the working directory).
 * After editing block.as.ts, run `npm run build:wasm` and commit all three files.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as asc from "assemblyscript/asc";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

// `npm run build:wasm` is one asc command per build, joined by &&
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
const commands = pkg.scripts["build:wasm"].split("&&").map((c) => c.trim().split(/\s+/));

describe("src/kernels/wasm builds", () => {
  it("builds both the plain and the relaxed-SIMD kernel", () => {
    const outs = commands.map((argv) => argv[argv.findIndex((a) => a === "-o" || a === "--outFile") + 1]);
    expect(outs).toEqual(["src/kernels/wasm/block.wasm", "src/kernels/wasm/block-relaxed.wasm"]);
    expect(commands[1]).toContain("relaxed-simd");
    expect(commands[0]).not.toContain("relaxed-simd");
  });

  it.each(commands.map((argv) => [argv[argv.indexOf("-o") + 1], argv] as const))(
    "%s is up to date with block.as.ts (rebuild and compare bytes)",
    async (_name, argv) => {
      expect(argv[0]).toBe("asc");
      const args = argv.slice(1);
      const o = args.findIndex((a) => a === "-o" || a === "--outFile");
      expect(o).toBeGreaterThan(0);
      const committed = join(root, args[o + 1]);
      const dir = mkdtempSync(join(tmpdir(), "neuralrg-wasm-"));
      try {
        const out = join(dir, "block.wasm");
        args[o + 1] = out;
        // the source file(s): every argument ending in .ts, made absolute
        for (let i = 0; i < args.length; i++) if (args[i].endsWith(".ts")) args[i] = join(root, args[i]);
        const stderr = asc.createMemoryStream();
        const r = await asc.main(args, { stderr, stdout: asc.createMemoryStream() });
        expect(r.error, stderr.toString()).toBeNull();
        const fresh = readFileSync(out);
        const old = readFileSync(committed);
        expect(fresh.length, `${committed} is stale: run \`npm run build:wasm\``).toBe(old.length);
        expect(Buffer.compare(fresh, old), `${committed} is stale: run \`npm run build:wasm\``).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
