import * as zlib from 'node:zlib';
import { crc32, encodePng, logoPng, logoSvg, PNG_SIGNATURE, renderLogoPixels } from '../../../server/kernels/logo';

interface Chunk {
  type: string;
  data: Buffer;
  crc: number;
  /** The bytes the CRC covers: type and data. */
  covered: Buffer;
}

/** Splits a PNG into its chunks, checking that each length stays inside the file. */
function chunks(png: Buffer): Chunk[] {
  expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  const out: Chunk[] = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    expect(at + 12 + length).toBeLessThanOrEqual(png.length);
    out.push({
      type: png.toString('latin1', at + 4, at + 8),
      data: png.subarray(at + 8, at + 8 + length),
      crc: png.readUInt32BE(at + 8 + length),
      covered: png.subarray(at + 4, at + 8 + length)
    });
    at += 12 + length;
  }
  return out;
}

describe('crc32', () => {
  it('gives the standard check value and agrees with zlib where Node has it', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const sample = Buffer.from('IEND and some more bytes \x00\xff');
    if (typeof zlib.crc32 === 'function') expect(crc32(sample)).toBe(zlib.crc32(sample));
    // Continuing from a previous CRC is the same as one pass over both parts.
    expect(crc32(sample.subarray(10), crc32(sample.subarray(0, 10)))).toBe(crc32(sample));
  });
});

describe('logo PNGs', () => {
  it.each([32, 64])(
    '%i px: signature, IHDR, a CRC that checks on every chunk, IDAT inflating to the raw size',
    size => {
      const png = logoPng(size);
      const all = chunks(png);
      expect(all.map(c => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      for (const c of all) expect(c.crc).toBe(crc32(c.covered));

      const ihdr = all[0].data;
      expect(ihdr.length).toBe(13);
      expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4)]).toEqual([size, size]);
      expect([...ihdr.subarray(8)]).toEqual([8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter method, no interlace

      const raw = zlib.inflateSync(all[1].data);
      expect(raw.length).toBe(size * (size * 4 + 1));
      // Every row starts with filter type 0, and the pixels are what the renderer drew.
      const pixels = renderLogoPixels(size);
      for (let y = 0; y < size; y++) {
        expect(raw[y * (size * 4 + 1)]).toBe(0);
        expect(raw.subarray(y * (size * 4 + 1) + 1, (y + 1) * (size * 4 + 1))).toEqual(
          Buffer.from(pixels.subarray(y * size * 4, (y + 1) * size * 4))
        );
      }
      expect(all[2].data.length).toBe(0);
    }
  );

  it.each([32, 64])(
    '%i px: transparent outside the rounded corner, opaque blue background, light die in the middle',
    size => {
      const pixels = renderLogoPixels(size);
      const at = (x: number, y: number) => [...pixels.subarray((y * size + x) * 4, (y * size + x) * 4 + 4)];
      expect(at(0, 0)[3]).toBe(0);
      expect(at(size - 1, size - 1)[3]).toBe(0);
      expect(at(size / 2, 1)).toEqual([0x24, 0x58, 0xb3, 255]); // its own background, for dark themes
      expect(at(Math.round(size * 0.28), Math.round(size * 0.28))).toEqual([0xf4, 0xf6, 0xfa, 255]); // the die's corner area
    }
  );

  it('encodePng refuses pixel data of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow('expected 2×2×4 bytes');
    expect(() => encodePng(0, 1, new Uint8Array(0))).toThrow();
    const one = chunks(encodePng(1, 1, new Uint8Array([1, 2, 3, 4])));
    expect([...zlib.inflateSync(one[1].data)]).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('logoSvg', () => {
  it('is a self-contained SVG with its own background and no text that depends on fonts', () => {
    const svg = logoSvg();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toMatch(/<rect x="0" y="0" width="64" height="64" rx="14" fill="#2458b3"\/>/);
    expect(svg).not.toMatch(/<text|href|<script|url\(/);
    // Every element is closed: each <rect …/> is self-closing.
    expect(svg.match(/<rect /g)?.length).toBe(svg.match(/\/>/g)?.length);
  });
});
