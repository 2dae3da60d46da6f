/**
 * The demo model's world, as its training tool draws it (tools/demo-model/shapes.py): the exact
 * palette, the shapes and the caption wording. Tests judge a generated picture by classifying
 * every pixel to the nearest palette colour.
 */
export const PALETTE = {
  red: [220, 30, 30],
  green: [30, 170, 60],
  blue: [40, 70, 220],
  yellow: [240, 220, 40],
  purple: [140, 50, 180],
  orange: [250, 140, 20],
  white: [245, 245, 245],
  black: [15, 15, 15],
} as const satisfies Record<string, readonly [number, number, number]>;
export type Colour = keyof typeof PALETTE;
export const COLOURS = Object.keys(PALETTE) as Colour[];
export const SHAPES = ['circle', 'square', 'triangle'] as const;

export const caption = (foreground: Colour, shape: string, background: Colour) => `a ${foreground} ${shape} on a ${background} background`;

/** Palette colours by how many pixels are nearest to each, most frequent first. */
export function colourRanking(pixels: ArrayLike<number>, scale = 1): Colour[] {
  const counts = new Map<Colour, number>(COLOURS.map((colour) => [colour, 0]));
  for (let i = 0; i < pixels.length; i += 3) {
    let best: Colour = COLOURS[0];
    let bestDistance = Infinity;
    for (const colour of COLOURS) {
      const [r, g, b] = PALETTE[colour];
      const distance = (pixels[i] * scale - r) ** 2 + (pixels[i + 1] * scale - g) ** 2 + (pixels[i + 2] * scale - b) ** 2;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = colour;
      }
    }
    counts.set(best, counts.get(best)! + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([colour]) => colour);
}

/** The rule the demo model is held to: the background is the most frequent colour, the shape's the next. */
export function paintsWhatWasAsked(pixels: ArrayLike<number>, foreground: Colour, background: Colour, scale = 1): boolean {
  const [first, second] = colourRanking(pixels, scale);
  return first === background && second === foreground;
}
