import { deflateSync } from 'node:zlib';

/*
 * The hpclab kernel logo: a chip on a blue rounded square with "HPC" on it. Jupyter shows
 * logo-32x32.png / logo-64x64.png, and JupyterLab 4 prefers logo-svg.svg on launcher tiles.
 *
 * The mark is one list of rectangles in a 64×64 grid, drawn twice: as SVG elements, and by a
 * tiny rasterizer into PNGs. So the three files show the same thing without an image library
 * or a font: the letters are blocks, not <text>, which would render with whatever font the
 * browser picks. The mark carries its own background so it reads in light and dark themes.
 */

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Corner radius. */
  r: number;
  color: string;
}

const GRID = 64;
const BLUE = '#2458b3';
const PIN = '#f5b52e';
const DIE = '#f4f6fa';

// 3×5 block letters; '#' is a filled cell.
const GLYPHS: readonly (readonly string[])[] = [
  ['#.#', '#.#', '###', '#.#', '#.#'], // H
  ['###', '#.#', '###', '#..', '#..'], // P
  ['###', '#..', '#..', '#..', '###'] // C
];

/**
 * Later boxes paint over earlier ones. Coordinates are even where they can be, so edges fall
 * on whole pixels at 32 px as well as at 64 px and the small PNG stays sharp.
 */
function markBoxes(): Box[] {
  const boxes: Box[] = [{ x: 0, y: 0, w: GRID, h: GRID, r: 14, color: BLUE }];
  // Three pins on each side of the die, centred on 22, 32 and 42.
  for (const at of [20, 30, 40]) {
    boxes.push(
      { x: at, y: 10, w: 4, h: 6, r: 0, color: PIN },
      { x: at, y: 48, w: 4, h: 6, r: 0, color: PIN },
      { x: 10, y: at, w: 6, h: 4, r: 0, color: PIN },
      { x: 48, y: at, w: 6, h: 4, r: 0, color: PIN }
    );
  }
  boxes.push({ x: 16, y: 16, w: 32, h: 32, r: 4, color: DIE });
  const cell = 2;
  GLYPHS.forEach((rows, letter) => {
    rows.forEach((row, y) => {
      // One box per run of filled cells keeps the SVG short.
      for (const m of row.matchAll(/#+/g)) {
        boxes.push({
          x: 20 + (letter * 4 + (m.index ?? 0)) * cell,
          y: 26 + y * cell,
          w: m[0].length * cell,
          h: cell,
          r: 0,
          color: BLUE
        });
      }
    });
  });
  return boxes;
}

/** The logo as an SVG document (logo-svg.svg). */
export function logoSvg(): string {
  const shapes = markBoxes().map(
    b => `  <rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}"${b.r ? ` rx="${b.r}"` : ''} fill="${b.color}"/>`
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${GRID} ${GRID}" width="${GRID}" height="${GRID}">`,
    '  <title>hpclab</title>',
    ...shapes,
    '</svg>',
    ''
  ].join('\n');
}

function inside(b: Box, x: number, y: number): boolean {
  if (x < b.x || x > b.x + b.w || y < b.y || y > b.y + b.h) return false;
  // Distance from the nearest point of the box shrunk by r: within r means inside the rounding.
  const dx = x - Math.min(Math.max(x, b.x + b.r), b.x + b.w - b.r);
  const dy = y - Math.min(Math.max(y, b.y + b.r), b.y + b.h - b.r);
  return dx * dx + dy * dy <= b.r * b.r;
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** RGBA pixels of the mark at `size`×`size`, antialiased by 4×4 samples per pixel. */
export function renderLogoPixels(size: number): Uint8Array {
  const boxes = markBoxes().map(b => ({ box: b, rgb: rgb(b.color) }));
  const pixels = new Uint8Array(size * size * 4);
  const samples = 4;
  const scale = GRID / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        covered = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) * scale;
          const y = (py + (sy + 0.5) / samples) * scale;
          let top: [number, number, number] | undefined;
          for (const s of boxes) if (inside(s.box, x, y)) top = s.rgb;
          if (top) {
            r += top[0];
            g += top[1];
            b += top[2];
            covered++;
          }
        }
      }
      const i = (py * size + px) * 4;
      if (covered > 0) {
        // Colour averaged over the covered samples only; coverage goes into alpha (straight alpha, as PNG wants).
        pixels[i] = Math.round(r / covered);
        pixels[i + 1] = Math.round(g / covered);
        pixels[i + 2] = Math.round(b / covered);
        pixels[i + 3] = Math.round((255 * covered) / (samples * samples));
      }
    }
  }
  return pixels;
}

/** CRC-32 as PNG (and zlib) define it. zlib.crc32 only exists from Node 20.15, and we support 20.0. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, tail]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG of 8-bit RGBA pixels, rows top to bottom, no filtering (deflate does well enough on flat icons). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    rgba.length !== width * height * 4
  ) {
    throw new Error(`encodePng: expected ${width}×${height}×4 bytes of RGBA, got ${rgba.length}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  // compression, filter method and interlace stay 0
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0))
  ]);
}

/** The logo as a PNG of `size`×`size` pixels (32 and 64 are what Jupyter looks for). */
export function logoPng(size: number): Buffer {
  return encodePng(size, size, renderLogoPixels(size));
}
