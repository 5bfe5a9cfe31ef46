/**
 * NumPy's .npy format (versions 1.0, 2.0 and 3.0): a magic string, a Python-literal header
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (n, L, L), }
 * padded with spaces to a multiple of 64 bytes and ended by "\n", then the raw array.
 * We read and write C-order arrays of float32 ('<f4'), float64 ('<f8') and uint8 ('|u1');
 * big-endian floats ('>f4', '>f8') are read too. Every problem is reported as a DataFormatError
 * naming the file.
 */
export type NpyDType = "float32" | "float64" | "uint8";
export type NpyArray = Float32Array | Float64Array | Uint8Array;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A data file that cannot be used; the message is one line naming the file and the problem. */
export class DataFormatError extends Error {
  override readonly name = "DataFormatError";
}

const DESCR: Record<string, { dtype: NpyDType; little: boolean; size: number }> = {
  "<f8": { dtype: "float64", little: true, size: 8 },
  ">f8": { dtype: "float64", little: false, size: 8 },
  "<f4": { dtype: "float32", little: true, size: 4 },
  ">f4": { dtype: "float32", little: false, size: 4 },
  "|u1": { dtype: "uint8", little: true, size: 1 },
  "<u1": { dtype: "uint8", little: true, size: 1 },
  ">u1": { dtype: "uint8", little: true, size: 1 },
  u1: { dtype: "uint8", little: true, size: 1 },
};
const NPY_ACCEPTED_DESCR = "'<f4' (float32), '<f8' (float64), '|u1' (uint8), or big-endian '>f4', '>f8'";

export interface ParsedNpy {
  dtype: NpyDType;
  shape: number[];
  data: NpyArray;
}

function headerField(header: string, key: string): string | undefined {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*`).exec(header);
  if (!m) return undefined;
  const rest = header.slice(m.index + m[0].length);
  if (rest.startsWith("(")) return rest.slice(0, rest.indexOf(")") + 1);
  const q = rest[0];
  if (q === "'" || q === '"') return rest.slice(1, rest.indexOf(q, 1));
  return /^[A-Za-z]+/.exec(rest)?.[0];
}

/** Parse the bytes of an .npy file (`name` is used in error messages). */
export function parseNpy(bytes: Uint8Array, name: string): ParsedNpy {
  const fail = (why: string): never => {
    throw new DataFormatError(`${name}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not an .npy file (the magic string \\x93NUMPY is missing)");
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`.npy format version ${major}.${bytes[7]} is not supported (1.0, 2.0, 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : fail("truncated header");
  const start = major === 1 ? 10 : 12;
  if (start + hlen > bytes.length) fail(`truncated header (declares ${hlen} bytes, the file has ${bytes.length - start})`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + hlen));
  const descr = headerField(header, "descr");
  const fortran = headerField(header, "fortran_order");
  const shapeText = headerField(header, "shape");
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  const kind = DESCR[descr as string] ?? fail(`dtype '${descr}' is not supported: accepted are ${NPY_ACCEPTED_DESCR}`);
  if (fortran !== "False") fail("Fortran-order arrays are not supported: save a C-order array (numpy.ascontiguousarray)");
  const inner = (shapeText as string).slice(1, -1).trim();
  const shape = inner === "" ? [] : inner.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`shape ${shapeText} is not a tuple of non-negative integers`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + hlen;
  const expected = count * kind.size;
  if (bytes.length - offset !== expected) {
    fail(`holds ${bytes.length - offset} data bytes, shape ${shapeText} of ${descr} needs ${expected}${bytes.length - offset < expected ? " (truncated file)" : ""}`);
  }
  let data: NpyArray;
  if (kind.dtype === "uint8") {
    data = bytes.slice(offset, offset + count);
  } else if (kind.dtype === "float64") {
    data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(offset + 8 * i, kind.little);
  } else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, kind.little);
  }
  return { dtype: kind.dtype, shape, data };
}

function npyDTypeOf(a: NpyArray): NpyDType {
  return a instanceof Uint8Array ? "uint8" : a instanceof Float32Array ? "float32" : "float64";
}

/** The bytes of an .npy file (version 1.0, little-endian, C order) holding `data` with `shape`. */
export function formatNpy(data: NpyArray, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`shape (${shape.join(", ")}) does not match the ${data.length} values given`);
  }
  const dtype = npyDTypeOf(data);
  const descr = dtype === "uint8" ? "|u1" : dtype === "float32" ? "<f4" : "<f8";
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  if (header.length > 0xffff) throw new RangeError("npy header too long");
  const size = dtype === "uint8" ? 1 : dtype === "float32" ? 4 : 8;
  const out = new Uint8Array(10 + header.length + count * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const off = 10 + header.length;
  if (dtype === "uint8") out.set(data, off);
  else if (dtype === "float32") for (let i = 0; i < count; i++) view.setFloat32(off + 4 * i, data[i], true);
  else for (let i = 0; i < count; i++) view.setFloat64(off + 8 * i, data[i], true);
  return out;
}
