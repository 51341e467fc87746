/**
 * A small RGB raster for plots: rectangles, lines, heatmaps with the viridis
 * colormap, and text in a built-in 5×7 bitmap font; encoded to PNG by
 * `fast-png` (pinned in `lib/deps.ts`).
 *
 * @module
 */

import { encodePng } from "../deps.ts";

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** Common colours. */
export const COLORS = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  gray: [128, 128, 128],
  lightGray: [225, 225, 225],
  blue: [31, 119, 180],
  orange: [255, 127, 14],
  red: [214, 39, 40],
} as const satisfies Record<string, Rgb>;

// Matplotlib's viridis as a degree-6 polynomial per channel (least-squares fit,
// max error under 0.01 against the 256-entry table).
const VIRIDIS_COEFS: readonly (readonly number[])[] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/**
 * The viridis colormap: t in [0, 1] (clamped; NaN is drawn red) to RGB.
 *
 * @example
 * ```ts
 * import { viridis } from "./png.ts";
 * console.assert(viridis(0).join() === "71,1,85"); // dark purple
 * ```
 */
export function viridis(t: number): Rgb {
  if (Number.isNaN(t)) return COLORS.red;
  const x = Math.min(Math.max(t, 0), 1);
  const out = [0, 0, 0];
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    for (let i = VIRIDIS_COEFS.length - 1; i >= 0; i--) v = v * x + VIRIDIS_COEFS[i]![ch]!;
    out[ch] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
  }
  return out as unknown as Rgb;
}

// 5×8 glyphs for ASCII 32–126, column-major: 5 bytes per glyph, bit 0 = top row,
// bit 7 = descender row. (The classic public-domain "glcdfont" layout.)
// deno-fmt-ignore
const FONT = [
  0x00, 0x00, 0x00, 0x00, 0x00, // space
  0x00, 0x00, 0x5f, 0x00, 0x00, // !
  0x00, 0x07, 0x00, 0x07, 0x00, // "
  0x14, 0x7f, 0x14, 0x7f, 0x14, // #
  0x24, 0x2a, 0x7f, 0x2a, 0x12, // $
  0x23, 0x13, 0x08, 0x64, 0x62, // %
  0x36, 0x49, 0x56, 0x20, 0x50, // &
  0x00, 0x05, 0x03, 0x00, 0x00, // '
  0x00, 0x1c, 0x22, 0x41, 0x00, // (
  0x00, 0x41, 0x22, 0x1c, 0x00, // )
  0x08, 0x2a, 0x1c, 0x2a, 0x08, // *
  0x08, 0x08, 0x3e, 0x08, 0x08, // +
  0x00, 0x50, 0x30, 0x00, 0x00, // ,
  0x08, 0x08, 0x08, 0x08, 0x08, // -
  0x00, 0x60, 0x60, 0x00, 0x00, // .
  0x20, 0x10, 0x08, 0x04, 0x02, // /
  0x3e, 0x51, 0x49, 0x45, 0x3e, // 0
  0x00, 0x42, 0x7f, 0x40, 0x00, // 1
  0x42, 0x61, 0x51, 0x49, 0x46, // 2
  0x21, 0x41, 0x45, 0x4b, 0x31, // 3
  0x18, 0x14, 0x12, 0x7f, 0x10, // 4
  0x27, 0x45, 0x45, 0x45, 0x39, // 5
  0x3c, 0x4a, 0x49, 0x49, 0x30, // 6
  0x01, 0x71, 0x09, 0x05, 0x03, // 7
  0x36, 0x49, 0x49, 0x49, 0x36, // 8
  0x06, 0x49, 0x49, 0x29, 0x1e, // 9
  0x00, 0x36, 0x36, 0x00, 0x00, // :
  0x00, 0x56, 0x36, 0x00, 0x00, // ;
  0x08, 0x14, 0x22, 0x41, 0x00, // <
  0x14, 0x14, 0x14, 0x14, 0x14, // =
  0x00, 0x41, 0x22, 0x14, 0x08, // >
  0x02, 0x01, 0x51, 0x09, 0x06, // ?
  0x32, 0x49, 0x79, 0x41, 0x3e, // @
  0x7e, 0x11, 0x11, 0x11, 0x7e, // A
  0x7f, 0x49, 0x49, 0x49, 0x36, // B
  0x3e, 0x41, 0x41, 0x41, 0x22, // C
  0x7f, 0x41, 0x41, 0x22, 0x1c, // D
  0x7f, 0x49, 0x49, 0x49, 0x41, // E
  0x7f, 0x09, 0x09, 0x09, 0x01, // F
  0x3e, 0x41, 0x49, 0x49, 0x7a, // G
  0x7f, 0x08, 0x08, 0x08, 0x7f, // H
  0x00, 0x41, 0x7f, 0x41, 0x00, // I
  0x20, 0x40, 0x41, 0x3f, 0x01, // J
  0x7f, 0x08, 0x14, 0x22, 0x41, // K
  0x7f, 0x40, 0x40, 0x40, 0x40, // L
  0x7f, 0x02, 0x0c, 0x02, 0x7f, // M
  0x7f, 0x04, 0x08, 0x10, 0x7f, // N
  0x3e, 0x41, 0x41, 0x41, 0x3e, // O
  0x7f, 0x09, 0x09, 0x09, 0x06, // P
  0x3e, 0x41, 0x51, 0x21, 0x5e, // Q
  0x7f, 0x09, 0x19, 0x29, 0x46, // R
  0x46, 0x49, 0x49, 0x49, 0x31, // S
  0x01, 0x01, 0x7f, 0x01, 0x01, // T
  0x3f, 0x40, 0x40, 0x40, 0x3f, // U
  0x1f, 0x20, 0x40, 0x20, 0x1f, // V
  0x3f, 0x40, 0x38, 0x40, 0x3f, // W
  0x63, 0x14, 0x08, 0x14, 0x63, // X
  0x07, 0x08, 0x70, 0x08, 0x07, // Y
  0x61, 0x51, 0x49, 0x45, 0x43, // Z
  0x00, 0x7f, 0x41, 0x41, 0x00, // [
  0x02, 0x04, 0x08, 0x10, 0x20, // \
  0x00, 0x41, 0x41, 0x7f, 0x00, // ]
  0x04, 0x02, 0x01, 0x02, 0x04, // ^
  0x80, 0x80, 0x80, 0x80, 0x80, // _
  0x00, 0x01, 0x02, 0x04, 0x00, // `
  0x20, 0x54, 0x54, 0x54, 0x78, // a
  0x7f, 0x48, 0x44, 0x44, 0x38, // b
  0x38, 0x44, 0x44, 0x44, 0x20, // c
  0x38, 0x44, 0x44, 0x48, 0x7f, // d
  0x38, 0x54, 0x54, 0x54, 0x18, // e
  0x08, 0x7e, 0x09, 0x01, 0x02, // f
  0x18, 0xa4, 0xa4, 0xa4, 0x7c, // g
  0x7f, 0x08, 0x04, 0x04, 0x78, // h
  0x00, 0x44, 0x7d, 0x40, 0x00, // i
  0x40, 0x80, 0x84, 0x7d, 0x00, // j
  0x7f, 0x10, 0x28, 0x44, 0x00, // k
  0x00, 0x41, 0x7f, 0x40, 0x00, // l
  0x7c, 0x04, 0x18, 0x04, 0x78, // m
  0x7c, 0x08, 0x04, 0x04, 0x78, // n
  0x38, 0x44, 0x44, 0x44, 0x38, // o
  0xfc, 0x24, 0x24, 0x24, 0x18, // p
  0x18, 0x24, 0x24, 0x28, 0xfc, // q
  0x7c, 0x08, 0x04, 0x04, 0x08, // r
  0x48, 0x54, 0x54, 0x54, 0x20, // s
  0x04, 0x3f, 0x44, 0x40, 0x20, // t
  0x3c, 0x40, 0x40, 0x20, 0x7c, // u
  0x1c, 0x20, 0x40, 0x20, 0x1c, // v
  0x3c, 0x40, 0x30, 0x40, 0x3c, // w
  0x44, 0x28, 0x10, 0x28, 0x44, // x
  0x1c, 0xa0, 0xa0, 0xa0, 0x7c, // y
  0x44, 0x64, 0x54, 0x4c, 0x44, // z
  0x00, 0x08, 0x36, 0x41, 0x00, // {
  0x00, 0x00, 0x7f, 0x00, 0x00, // |
  0x00, 0x41, 0x36, 0x08, 0x00, // }
  0x08, 0x04, 0x08, 0x10, 0x08, // ~
];

/** Glyph cell of the built-in font, in pixels at scale 1 (5 wide + 1 gap, 8 tall + 1 gap). */
export const GLYPH = { width: 6, height: 9 } as const;

/** Column bitmaps of a character; unknown characters are drawn as `?`. */
function glyph(ch: string): readonly number[] {
  let code = ch.charCodeAt(0);
  if (code < 32 || code > 126) code = 63;
  const i = (code - 32) * 5;
  return FONT.slice(i, i + 5);
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH.width - 1) * scale;
}

/** Options for {@linkcode Canvas.text}. */
export interface TextOptions {
  /**
   * Text colour.
   * @default {COLORS.black}
   */
  color?: Rgb;
  /**
   * Integer pixel scale of the font.
   * @default {1}
   */
  scale?: number;
  /**
   * Horizontal anchor: `x` is the left edge, centre or right edge of the text.
   * (For vertical text, the anchor is along the text's own direction.)
   * @default {"left"}
   */
  align?: "left" | "center" | "right";
  /**
   * Draw rotated 90° counter-clockwise, reading bottom to top (for y-axis labels);
   * then `x` is the left edge of the glyphs' tops and `y` the anchor along the text.
   * @default {false}
   */
  vertical?: boolean;
}

/** Options for {@linkcode Canvas.heatmap}. */
export interface HeatmapOptions {
  /**
   * Value drawn at the bottom of the colormap.
   * @default {0}
   */
  min?: number;
  /**
   * Value drawn at the top of the colormap.
   * @default {1}
   */
  max?: number;
  /**
   * Draw source row 0 at the bottom (frequency bin 0 low, as spectrograms are read).
   * @default {true}
   */
  flipY?: boolean;
  /**
   * Colormap from [0, 1] to RGB.
   * @default {viridis}
   */
  colormap?: (t: number) => Rgb;
}

/**
 * An RGB raster with the drawing operations plots need, and PNG output.
 *
 * @example Draw and encode
 * ```ts
 * import { Canvas, COLORS } from "./png.ts";
 * const c = new Canvas(40, 20);
 * c.fillRect(0, 0, 10, 10, COLORS.blue);
 * c.text("Hi", 12, 2);
 * const png = c.toPng();
 * console.assert(png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47); // "PNG"
 * ```
 */
export class Canvas {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels, RGB, row-major from the top-left. */
  readonly data: Uint8Array;

  /** A canvas filled with `background`. */
  constructor(width: number, height: number, background: Rgb = COLORS.white) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(
        `Cannot create canvas: size ${width}×${height} is not positive integers`,
      );
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Set one pixel; pixels outside the canvas are ignored. */
  setPixel(x: number, y: number, color: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = color[0];
    this.data[i + 1] = color[1];
    this.data[i + 2] = color[2];
  }

  /** The colour at a pixel. */
  getPixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  /** Fill a rectangle (clipped to the canvas). */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)),
      y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.data[i] = color[0];
        this.data[i + 1] = color[1];
        this.data[i + 2] = color[2];
      }
    }
  }

  /** Outline a rectangle one pixel wide. */
  strokeRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    this.line(x, y, x + w - 1, y, color);
    this.line(x, y + h - 1, x + w - 1, y + h - 1, color);
    this.line(x, y, x, y + h - 1, color);
    this.line(x + w - 1, y, x + w - 1, y + h - 1, color);
  }

  /** A one-pixel line (Bresenham), clipped to the canvas. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    // Bounded: a line never has more steps than its longer side.
    for (let steps = 0; steps <= dx - dy; steps++) {
      this.setPixel(x0, y0, color);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** Draw text in the built-in 5×7 font; `y` is the top of the glyphs. */
  text(text: string, x: number, y: number, options: TextOptions = {}): void {
    const color = options.color ?? COLORS.black;
    const scale = options.scale ?? 1;
    const width = textWidth(text, scale);
    const shift = options.align === "center" ? -width / 2 : options.align === "right" ? -width : 0;
    let pen = Math.round(shift);
    for (const ch of text) {
      const cols = glyph(ch);
      for (let col = 0; col < 5; col++) {
        const bits = cols[col]!;
        for (let row = 0; row < 8; row++) {
          if (!(bits & (1 << row))) continue;
          for (let sy = 0; sy < scale; sy++) {
            for (let sx = 0; sx < scale; sx++) {
              const u = pen + col * scale + sx; // along the text
              const v = row * scale + sy; // down the glyph
              if (options.vertical) this.setPixel(x + v, y - u, color);
              else this.setPixel(x + u, y + v, color);
            }
          }
        }
      }
      pen += GLYPH.width * scale;
    }
  }

  /**
   * Draw a `rows × cols` grid of values (row-major) scaled into the rectangle
   * `(x, y, w, h)` by nearest-neighbour sampling, through a colormap.
   */
  heatmap(
    values: ArrayLike<number>,
    shape: readonly [number, number],
    rect: readonly [number, number, number, number],
    options: HeatmapOptions = {},
  ): void {
    const [rows, cols] = shape;
    if (values.length !== rows * cols) {
      throw new RangeError(
        `Cannot draw heatmap: ${values.length} values do not fill ${rows}×${cols}`,
      );
    }
    const [x, y, w, h] = rect;
    const min = options.min ?? 0, max = options.max ?? 1;
    const span = max - min || 1;
    const cmap = options.colormap ?? viridis;
    const flip = options.flipY ?? true;
    for (let py = 0; py < h; py++) {
      let r = Math.min(rows - 1, Math.floor(py * rows / h));
      if (flip) r = rows - 1 - r;
      for (let px = 0; px < w; px++) {
        const c = Math.min(cols - 1, Math.floor(px * cols / w));
        this.setPixel(x + px, y + py, cmap((values[r * cols + c]! - min) / span));
      }
    }
  }

  /** Encode as an 8-bit RGB PNG. */
  toPng(): Uint8Array {
    return encodePng({ width: this.width, height: this.height, data: this.data, channels: 3 });
  }
}
