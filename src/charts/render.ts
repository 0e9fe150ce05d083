/**
 * Vega-Lite spec → SVG (vega, headless, renderer 'none') → PNG (sharp/librsvg at density 144,
 * i.e. 2× the spec's CSS pixels).
 *
 * The heavy modules (vega, vega-lite, sharp, canvas) load lazily on the first render and are
 * cached with everything else that does not depend on the data: the font registration for text
 * measurement, the `dpMoney` expression function, the writable fontconfig cache dir (set
 * before sharp draws its first text) and the compiled+parsed template per chart shape.
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

/** Name the inline data set gets in cached templates. */
const DATA_NAME = 'dp_data';
const TEMPLATE_CACHE_SIZE = 64;

type VegaRuntime = ReturnType<Vega['parse']>;
type Param = { name: string; value?: unknown };
type Bindings = { values: unknown[] | undefined; params: Array<[string, unknown]> };

/**
 * Splits a spec into a data-free template (inline `data.values` → named data set, top-level
 * param values → 0) and the bindings to feed in at render time. The template is the cache key.
 */
function splitSpec(spec: TopLevelSpec): { key: string; template: TopLevelSpec; bindings: Bindings } {
  const s = spec as unknown as Record<string, unknown>;
  const data = s.data as { values?: unknown } | undefined;
  const values = data && Array.isArray(data.values) ? (data.values as unknown[]) : undefined;
  const params = Array.isArray(s.params) ? (s.params as Param[]) : [];
  const plain = params.filter((p) => Object.keys(p).every((k) => k === 'name' || k === 'value'));
  const template = {
    ...s,
    ...(values ? { data: { name: DATA_NAME } } : {}),
    ...(params.length > 0
      ? { params: params.map((p) => (plain.includes(p) ? { name: p.name, value: 0 } : p)) }
      : {}),
  } as TopLevelSpec;
  return {
    key: JSON.stringify(template),
    template,
    bindings: { values, params: plain.map((p) => [p.name, p.value]) },
  };
}

/** Compiled + parsed Vega runtimes per template, least recently used evicted first. */
const templates = new Map<string, VegaRuntime>();

function runtimeFor(rt: ChartRuntime, key: string, template: TopLevelSpec): VegaRuntime {
  let parsed = templates.get(key);
  if (parsed) {
    templates.delete(key);
  } else {
    parsed = rt.vega.parse(rt.compile(template).spec);
    if (templates.size >= TEMPLATE_CACHE_SIZE) templates.delete(templates.keys().next().value!);
  }
  templates.set(key, parsed);
  return parsed;
}

/**
 * vega numbers clip paths (and gradients) with process-wide counters, so the same chart gets
 * `clip7` now and `clip13` later. Renumber them per document so the SVG is byte-identical.
 */
function normalizeDefIds(svg: string): string {
  const ids = new Map<string, string>();
  return svg.replace(/(id="|url\(#)((?:clip|gradient_)\d+)/g, (_m, prefix: string, id: string) => {
    let n = ids.get(id);
    if (n === undefined) {
      n = `${id.startsWith('clip') ? 'clip' : 'gradient_'}${ids.size + 1}`;
      ids.set(id, n);
    }
    return prefix + n;
  });
}

/**
 * Renders a Vega-Lite spec to SVG and PNG (2×). Deterministic for the same spec. The
 * vega-lite compile and vega parse of the spec's data-free template are cached, so a chart
 * with new data only pays for the dataflow run, the SVG string and the rasterisation.
 */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const rt = await loadChartRuntime();
  const { vega, sharp } = rt;
  const { key, template, bindings } = splitSpec(spec);
  const view = new vega.View(runtimeFor(rt, key, template), { renderer: 'none', logLevel: vega.Error });
  let svg: string;
  try {
    if (bindings.values) view.data(DATA_NAME, bindings.values);
    for (const [name, value] of bindings.params) view.signal(name, value);
    svg = normalizeDefIds(await view.toSVG());
  } finally {
    view.finalize();
  }
  const { data, info } = await sharp(Buffer.from(svg), { density: DENSITY })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { png: data, svg, width: info.width, height: info.height };
}

/** Clears the template cache (tests). */
export function clearChartTemplateCache(): void {
  templates.clear();
}
