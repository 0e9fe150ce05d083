/**
 * Vega-Lite spec → SVG (vega, headless, renderer 'none') → PNG (sharp/librsvg at density 144,
 * i.e. 2× the spec's CSS pixels).
 *
 * The heavy modules (vega, vega-lite, sharp, canvas) load lazily on the first render and are
 * cached with everything else that does not depend on the data: the font registration for text
 * measurement, the `dpMoney` expression function and the writable fontconfig cache dir (set
 * before sharp draws its first text). Per call we only compile, parse, render and finalize.
 */
import type * as VegaModule from 'vega';
import type { compile as vlCompile, TopLevelSpec } from 'vega-lite';
import type SharpDefault from 'sharp';
import { formatMoney, toLocale } from '../i18n/format.js';
import { ensureFontCacheDir, registerMeasurementFonts } from './fonts.js';
import { MONEY_EXPR } from './specs.js';

/** Rasterisation density: 144 dpi = 2× the 72 dpi CSS pixel size vega writes. */
export const DENSITY = 144;
export const SCALE = DENSITY / 72;

type Vega = typeof VegaModule;
type Sharp = typeof SharpDefault;

export interface ChartRuntime {
  vega: Vega;
  compile: typeof vlCompile;
  sharp: Sharp;
}

let runtimePromise: Promise<ChartRuntime> | undefined;

/** Loads and prepares the rendering stack once per process. */
export function loadChartRuntime(): Promise<ChartRuntime> {
  runtimePromise ??= (async () => {
    ensureFontCacheDir();
    const [canvasMod, vega, vl, sharpMod] = await Promise.all([
      // Optional: without it vega estimates text widths (CJK too narrow, Latin too wide).
      import('canvas').catch(() => undefined),
      import('vega'),
      import('vega-lite'),
      import('sharp'),
    ]);
    await registerMeasurementFonts(canvasMod?.GlobalFonts);
    vega.expressionFunction(MONEY_EXPR, (value: unknown, currency: unknown, locale: unknown) =>
      formatMoney(Number(value), String(currency), toLocale(String(locale)), { compact: true }),
    );
    return { vega, compile: vl.compile, sharp: sharpMod.default };
  })();
  runtimePromise.catch(() => {
    runtimePromise = undefined;
  });
  return runtimePromise;
}

export interface RenderedChart {
  png: Buffer;
  svg: string;
  /** PNG pixel size. */
  width: number;
  height: number;
}

/** Renders a Vega-Lite spec to SVG and PNG (2×). Deterministic for the same spec. */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const { vega, compile, sharp } = await loadChartRuntime();
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Warn });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const { data, info } = await sharp(Buffer.from(svg), { density: DENSITY })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { png: data, svg, width: info.width, height: info.height };
}
