/**
 * WGSL source of the block-layer kernel for WebGPU (float32): the same arithmetic as
 * src/kernels/block.ts and mlp.ts — couplings alternating the groups A = (v0, v3) and
 * B = (v1, v2), s = scale ⊙ tanh(s_net(cond)), t = t_net(cond), nets 2 → H → … → H → 2 with ELU
 * hidden activations, generate upd ← upd ⊙ e^s + t, infer upd ← (upd − t) ⊙ e^{−s} — generated
 * for one network shape (nlayers, nmlp, nhidden are compile-time constants, so private arrays
 * have fixed sizes).
 *
 * Entry points (one invocation per batch row; a row loops over the layer's blocks):
 *   - `forward`: applies one layer in place to `state` at its block sites, adds each row's
 *     log-determinant to `logdet`, and (u.tape = 1) stores the layer's input at its block sites
 *     in `tape` (the compact tape of src/flow/flow.ts: tape[u.tapeOff + b·M + 4k + c]);
 *   - `backward`: for rows b = slot, slot + u.slots, …: recomputes the block's forward from the
 *     tape, back-propagates the adjoint in `adj` (output adjoint in, input adjoint out, at the
 *     block sites) and the log-determinant adjoint `gld[b]`, and accumulates the parameter
 *     gradient of its rows into its own slice `gpart[slot·nparams + …]` (no atomics: every slot
 *     owns its slice);
 *   - `reduce` (separate bind group): gout[j] = Σ_slot gpart[slot·nparams + j].
 * tanh is evaluated as sign(x)·(1 − e^{−2|x|})/(1 + e^{−2|x|}) (finite for any x).
 *
 * Pure module (a string generator): imported by the worker and by the Node tests.
 */

export interface ShaderShape {
  nlayers: number;
  nmlp: number;
  nhidden: number;
  /** hidden activation (src/kernels/activation.ts); absent = "elu" */
  activation?: "elu" | "rational";
}

/** Parameters of one coupling network (flow/params.ts: netSize). */
export function netSizeOf(s: ShaderShape): number {
  const dims = [2, ...Array.from({ length: s.nmlp }, () => s.nhidden), 2];
  let n = 0;
  for (let k = 0; k + 1 < dims.length; k++) n += dims[k] * dims[k + 1] + dims[k + 1];
  return n;
}

/** Fields of the per-dispatch uniform block, in order (u32 each). */
export const UNIFORM_FIELDS = [
  "dir",
  "base",
  "nblocks",
  "batch",
  "N",
  "tapeOff",
  "blkOff",
  "slots",
  "tape",
  "nparams",
] as const;

export const WORKGROUP = 64;

export function blockShader(s: ShaderShape): string {
  const NL = s.nlayers;
  const NH = s.nmlp;
  const H = s.nhidden;
  const NET = netSizeOf(s);
  const ACT = Math.max(1, NH * H);
  const fields = UNIFORM_FIELDS.map((f) => `  ${f}: u32,`).join("\n");
  return /* wgsl */ `
const NL: u32 = ${NL}u;
const NH: u32 = ${NH}u;
const H: u32 = ${H}u;
const NET: u32 = ${NET}u;
const CS: u32 = ${2 * NET + 2}u;
const ACT: u32 = ${ACT}u;

struct U {
${fields}
};

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read_write> tape: array<f32>;
@group(0) @binding(4) var<storage, read> blocks: array<u32>;
@group(0) @binding(5) var<storage, read_write> logdet: array<f32>;
@group(0) @binding(6) var<storage, read_write> adj: array<f32>;
@group(0) @binding(7) var<storage, read> gld: array<f32>;
@group(0) @binding(8) var<storage, read_write> gpart: array<f32>;

// one block's record, per invocation: stage values, hidden activations of the s nets (offset
// q·ACT) and t nets ((NL + q)·ACT), tanh of the raw s outputs
var<private> rv: array<f32, ${4 * (NL + 1)}>;
var<private> ract: array<f32, ${2 * NL * ACT}>;
var<private> rth: array<f32, ${2 * NL}>;

fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}

// the hidden activation and its slope from the output a (src/kernels/activation.ts)
fn elu(x: f32) -> f32 {
${s.activation === "rational" ? "  return select(x / (1.0 - min(x, 0.0)), x, x > 0.0);" : "  return select(exp(x) - 1.0, x, x > 0.0);"}
}

fn eluSlope(a: f32) -> f32 {
${s.activation === "rational" ? "  return select((a + 1.0) * (a + 1.0), 1.0, a > 0.0);" : "  return select(a + 1.0, 1.0, a > 0.0);"}
}

${NH === 0 ? linearNets() : mlpNets(H)}
fn condIdx(parity: u32) -> vec2u { return select(vec2u(0u, 3u), vec2u(1u, 2u), parity == 1u); }
fn updIdx(parity: u32) -> vec2u { return select(vec2u(1u, 2u), vec2u(0u, 3u), parity == 1u); }

// the couplings of one block from rv[0..3], recording every stage; returns the log-determinant
fn blockForward() -> f32 {
  var ld = 0.0;
  for (var q = 0u; q < NL; q++) {
    let c = select(NL - 1u - q, q, u.dir == 0u);
    let ci = condIdx(c & 1u);
    let ui = updIdx(c & 1u);
    let vi = 4u * q;
    let vo = vi + 4u;
    let x0 = rv[vi + ci.x];
    let x1 = rv[vi + ci.y];
    let po = u.base + c * CS;
    let so = net(po, x0, x1, q * ACT);
    let to = net(po + NET, x0, x1, (NL + q) * ACT);
    let th0 = tanh_(so.x);
    let th1 = tanh_(so.y);
    rth[2u * q] = th0;
    rth[2u * q + 1u] = th1;
    let s0 = P[po + 2u * NET] * th0;
    let s1 = P[po + 2u * NET + 1u] * th1;
    rv[vo + ci.x] = x0;
    rv[vo + ci.y] = x1;
    if (u.dir == 0u) {
      rv[vo + ui.x] = rv[vi + ui.x] * exp(s0) + to.x;
      rv[vo + ui.y] = rv[vi + ui.y] * exp(s1) + to.y;
      ld += s0 + s1;
    } else {
      rv[vo + ui.x] = (rv[vi + ui.x] - to.x) * exp(-s0);
      rv[vo + ui.y] = (rv[vi + ui.y] - to.y) * exp(-s1);
      ld -= s0 + s1;
    }
  }
  return ld;
}

@compute @workgroup_size(${WORKGROUP})
fn forward(@builtin(global_invocation_id) id: vec3u) {
  let b = id.x;
  if (b >= u.batch) { return; }
  let M = 4u * u.nblocks;
  var ld = 0.0;
  for (var k = 0u; k < u.nblocks; k++) {
    for (var c = 0u; c < 4u; c++) {
      let x = state[b * u.N + blocks[u.blkOff + 4u * k + c]];
      rv[c] = x;
      if (u.tape == 1u) { tape[u.tapeOff + b * M + 4u * k + c] = x; }
    }
    ld += blockForward();
    for (var c = 0u; c < 4u; c++) { state[b * u.N + blocks[u.blkOff + 4u * k + c]] = rv[4u * NL + c]; }
  }
  logdet[b] += ld;
}

@compute @workgroup_size(${WORKGROUP})
fn backward(@builtin(global_invocation_id) id: vec3u) {
  let slot = id.x;
  if (slot >= u.slots) { return; }
  let gp = slot * u.nparams;
  let M = 4u * u.nblocks;
  for (var b = slot; b < u.batch; b += u.slots) {
    let g = gld[b];
    for (var k = 0u; k < u.nblocks; k++) {
      var gv: array<f32, 4>;
      for (var c = 0u; c < 4u; c++) {
        rv[c] = tape[u.tapeOff + b * M + 4u * k + c];
        gv[c] = adj[b * u.N + blocks[u.blkOff + 4u * k + c]];
      }
      _ = blockForward();
      for (var qq = 0u; qq < NL; qq++) {
        let q = NL - 1u - qq;
        let c = select(NL - 1u - q, q, u.dir == 0u);
        let ci = condIdx(c & 1u);
        let ui = updIdx(c & 1u);
        let vi = 4u * q;
        let vo = vi + 4u;
        let po = u.base + c * CS;
        let pScale = po + 2u * NET;
        let x0 = rv[vi + ci.x];
        let x1 = rv[vi + ci.y];
        let th0 = rth[2u * q];
        let th1 = rth[2u * q + 1u];
        let sc0 = P[pScale];
        let sc1 = P[pScale + 1u];
        let s0 = sc0 * th0;
        let s1 = sc1 * th1;
        let gy0 = gv[ui.x];
        let gy1 = gv[ui.y];
        var gu0: f32; var gu1: f32; var gt0: f32; var gt1: f32; var gs0: f32; var gs1: f32;
        if (u.dir == 0u) {
          let e0 = exp(s0);
          let e1 = exp(s1);
          gu0 = gy0 * e0; gu1 = gy1 * e1;
          gt0 = gy0; gt1 = gy1;
          gs0 = gy0 * rv[vi + ui.x] * e0 + g;
          gs1 = gy1 * rv[vi + ui.y] * e1 + g;
        } else {
          let e0 = exp(-s0);
          let e1 = exp(-s1);
          gu0 = gy0 * e0; gu1 = gy1 * e1;
          gt0 = -gu0; gt1 = -gu1;
          gs0 = -gy0 * rv[vo + ui.x] - g;
          gs1 = -gy1 * rv[vo + ui.y] - g;
        }
        gpart[gp + pScale] += gs0 * th0;
        gpart[gp + pScale + 1u] += gs1 * th1;
        let gh = vec2f(gs0 * sc0 * (1.0 - th0 * th0), gs1 * sc1 * (1.0 - th1 * th1));
        let gin1 = netBack(po, gp, x0, x1, q * ACT, gh);
        let gin2 = netBack(po + NET, gp, x0, x1, (NL + q) * ACT, vec2f(gt0, gt1));
        gv[ci.x] = gv[ci.x] + gin1.x + gin2.x;
        gv[ci.y] = gv[ci.y] + gin1.y + gin2.y;
        gv[ui.x] = gu0;
        gv[ui.y] = gu1;
      }
      for (var c = 0u; c < 4u; c++) { adj[b * u.N + blocks[u.blkOff + 4u * k + c]] = gv[c]; }
    }
  }
}
`;
}

/** The two network functions for nmlp = 0 (WGSL would reject the constant NH − 1 = −1 of the general ones). */
function linearNets(): string {
  return /* wgsl */ `
// nmlp = 0: each network is one dense layer 2 -> 2
fn net(po: u32, x0: f32, x1: f32, ao: u32) -> vec2f {
  return vec2f(P[po] * x0 + P[po + 1u] * x1 + P[po + 4u], P[po + 2u] * x0 + P[po + 3u] * x1 + P[po + 5u]);
}

fn netBack(po: u32, gp: u32, x0: f32, x1: f32, ao: u32, g: vec2f) -> vec2f {
  gpart[gp + po] += g.x * x0; gpart[gp + po + 1u] += g.x * x1;
  gpart[gp + po + 2u] += g.y * x0; gpart[gp + po + 3u] += g.y * x1;
  gpart[gp + po + 4u] += g.x; gpart[gp + po + 5u] += g.y;
  return vec2f(g.x * P[po] + g.y * P[po + 2u], g.x * P[po + 1u] + g.y * P[po + 3u]);
}
`;
}

/** The network functions 2 → H → … → H → 2 (ELU), their hidden activations in ract[ao …]. */
function mlpNets(H: number): string {
  return /* wgsl */ `
// one network 2 -> H ... H -> 2 at parameter offset po; hidden post-activations into ract[ao ..]
fn net(po: u32, x0: f32, x1: f32, ao: u32) -> vec2f {
  var p = po;
  for (var i = 0u; i < H; i++) {
    ract[ao + i] = elu(P[p + 2u * i] * x0 + P[p + 2u * i + 1u] * x1 + P[p + 2u * H + i]);
  }
  p += 3u * H;
  var prev = ao;
  for (var k = 1u; k < NH; k++) {
    let cur = prev + H;
    for (var i = 0u; i < H; i++) {
      var v = P[p + H * H + i];
      for (var j = 0u; j < H; j++) { v += P[p + i * H + j] * ract[prev + j]; }
      ract[cur + i] = elu(v);
    }
    p += H * H + H;
    prev = cur;
  }
  var o0 = P[p + 2u * H];
  var o1 = P[p + 2u * H + 1u];
  for (var j = 0u; j < H; j++) {
    let a = ract[prev + j];
    o0 += P[p + j] * a;
    o1 += P[p + H + j] * a;
  }
  return vec2f(o0, o1);
}

// backward of net: output adjoints g, accumulates the parameter gradient at gp + (offset), returns input adjoints
fn netBack(po: u32, gp: u32, x0: f32, x1: f32, ao: u32, g: vec2f) -> vec2f {
  var ga: array<f32, ${H}>;
  var gb: array<f32, ${H}>;
  let lastP = po + 3u * H + (NH - 1u) * (H * H + H);
  let lastA = ao + (NH - 1u) * H;
  for (var j = 0u; j < H; j++) {
    let a = ract[lastA + j];
    gpart[gp + lastP + j] += g.x * a;
    gpart[gp + lastP + H + j] += g.y * a;
    ga[j] = g.x * P[lastP + j] + g.y * P[lastP + H + j];
  }
  gpart[gp + lastP + 2u * H] += g.x;
  gpart[gp + lastP + 2u * H + 1u] += g.y;
  for (var k = NH - 1u; k >= 1u; k--) {
    let p = po + 3u * H + (k - 1u) * (H * H + H);
    let cur = ao + k * H;
    let prev = cur - H;
    for (var j = 0u; j < H; j++) { gb[j] = 0.0; }
    for (var i = 0u; i < H; i++) {
      let a = ract[cur + i];
      let gu = ga[i] * eluSlope(a);
      gpart[gp + p + H * H + i] += gu;
      for (var j = 0u; j < H; j++) {
        gpart[gp + p + i * H + j] += gu * ract[prev + j];
        gb[j] += gu * P[p + i * H + j];
      }
    }
    for (var j = 0u; j < H; j++) { ga[j] = gb[j]; }
  }
  var gx0 = 0.0;
  var gx1 = 0.0;
  for (var i = 0u; i < H; i++) {
    let a = ract[ao + i];
    let gu = ga[i] * eluSlope(a);
    gpart[gp + po + 2u * i] += gu * x0;
    gpart[gp + po + 2u * i + 1u] += gu * x1;
    gpart[gp + po + 2u * H + i] += gu;
    gx0 += gu * P[po + 2u * i];
    gx1 += gu * P[po + 2u * i + 1u];
  }
  return vec2f(gx0, gx1);
}

`;
}

/** The reduction over slots (its own bind group: uniform, gpart, gout). */
export function reduceShader(): string {
  return /* wgsl */ `
struct R { nparams: u32, slots: u32, _a: u32, _b: u32 };
@group(0) @binding(0) var<uniform> r: R;
@group(0) @binding(1) var<storage, read> gpart: array<f32>;
@group(0) @binding(2) var<storage, read_write> gout: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn reduce(@builtin(global_invocation_id) id: vec3u) {
  let j = id.x;
  if (j >= r.nparams) { return; }
  var s = 0.0;
  for (var i = 0u; i < r.slots; i++) { s += gpart[i * r.nparams + j]; }
  gout[j] = s;
}
`;
}
