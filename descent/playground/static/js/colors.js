// Colours: one per class (TensorFlow Playground's orange and blue first), and the
// diverging scale of unit maps, regression outputs and weights (orange < 0 < blue).

export const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728",
                             "#8c564b", "#e377c2", "#bcbd22"];
const NEUTRAL = [232, 234, 235];
const NEGATIVE = [245, 147, 34];
const POSITIVE = [8, 119, 189];

export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// byte 0..255 with 128 for 0 (unit maps) -> [r, g, b]
export function diverging(byte) {
  const t = (byte - 127.5) / 127.5;
  return t < 0 ? mix(NEUTRAL, NEGATIVE, -t) : mix(NEUTRAL, POSITIVE, t);
}

// a class and how sure the network is of it (0..1) -> [r, g, b]
export function classShade(k, sure) {
  return mix(NEUTRAL, rgb(CLASS_COLORS[k % CLASS_COLORS.length]), 0.1 + 0.65 * sure);
}

export function weightColor(w) {
  return w >= 0 ? "#0877bd" : "#f59322";
}

export function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// paint a size x size map of bytes into a canvas through ``shade(index) -> [r,g,b]``
export function paint(canvas, size, shade) {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = shade(i);
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}
