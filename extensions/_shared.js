// Helpers shared by the widgets' front ends.  Each widget imports what it uses with one plain
// `import { ... } from "./_shared.js";` line (and may re-export with `export { ... } from ...`):
// node's test runner resolves that import as is, and nbtorch.viz._live.esm() inlines this file
// in its place, because anywidget loads every widget as one self-contained module.  It inlines
// the declarations named there and those they use: keep each declaration (with its comment) one
// block without blank lines.

export const NS = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// A float32 view of a binary trait: DataView (ipywidgets), ArrayBuffer, typed array, or the
// base64 string the fixtures use.  Copies when the bytes are not 4-aligned.
export function toF32(x) {
  if (x === null || x === undefined) return new Float32Array(0);
  if (typeof x === "string") {
    const bin = atob(x);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer, 0, bytes.length >> 2);
  }
  let buffer = x, offset = 0;
  const length = x.byteLength;
  if (ArrayBuffer.isView(x)) { buffer = x.buffer; offset = x.byteOffset; }
  if (offset % 4 !== 0) return new Float32Array(buffer.slice(offset, offset + length));
  return new Float32Array(buffer, offset, length >> 2);
}

// A short number label (Python: nbtorch.viz._charts.fmt); "–" for a missing value.
export function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace(/e([+-])(\d)$/, "e$10$2");
  return String(Number(v.toPrecision(4)));
}
