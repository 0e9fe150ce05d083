/**
 * Chart fonts.
 *
 * Requirement: Chinese charts need a Simplified Chinese face. We name
 * **'Noto Sans CJK SC'** explicitly (Debian/Ubuntu package `fonts-noto-cjk`; Alpine
 * `font-noto-cjk`); with no face named, fontconfig mixes DejaVu with Noto Sans CJK JP
 * glyph shapes, and with no CJK font at all every Chinese glyph is a tofu box.
 * English charts use 'DejaVu Sans' (`fonts-dejavu-core`, pulled in by fontconfig) and fall
 * back to the CJK face for Chinese stage names. `checkChartFonts()` lets the app warn at
 * start when a face is missing.
 *
 * Two consumers must agree on the font:
 *  - librsvg inside sharp rasterises the SVG through its *bundled* fontconfig, which
 *    resolves the family list in the SVG's font-family attributes;
 *  - vega measures text (for label placement/clipping) with `canvas`
 *    (= @napi-rs/canvas, Skia). Skia only registers the first family name of a .ttc
 *    collection ('Noto Sans CJK JP'), so `registerMeasurementFonts()` registers the
 *    Regular and Bold files under the SC name too; Latin and CJK advances are identical
 *    across the JP/SC faces, so the widths are exact.
 *
 * Fontconfig cache: sharp's fontconfig writes its own cache (cache-12 format, not the
 * system's cache-8) under $XDG_CACHE_HOME/fontconfig (default ~/.cache/fontconfig). When
 * that directory cannot be written, every process start rebuilds it in memory (~80–170 ms
 * on the first chart, and a warning). `ensureFontCacheDir()` keeps XDG_CACHE_HOME if it is
 * set or ~/.cache is writable, otherwise points it at `$TMPDIR/dealpulse-cache`. It must run
 * before sharp renders its first text, so render.ts calls it before loading sharp.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locale } from '../i18n/format.js';

export const CJK_FONT = 'Noto Sans CJK SC';
export const LATIN_FONT = 'DejaVu Sans';

/** Family list per locale, most preferred first. */
export const CHART_FONT_FAMILIES: Record<Locale, readonly string[]> = {
  'zh-CN': [CJK_FONT, LATIN_FONT, 'sans-serif'],
  en: [LATIN_FONT, CJK_FONT, 'sans-serif'],
};

/** Faces the charts need installed (generic 'sans-serif' excluded). */
export const REQUIRED_FONTS: readonly string[] = [CJK_FONT, LATIN_FONT];

/** The CSS font-family value put in the chart config (and so in every SVG text element). */
export function chartFont(locale: Locale): string {
  return CHART_FONT_FAMILIES[locale].map((f) => (f.includes(' ') ? `'${f}'` : f)).join(', ');
}

/** Where Debian/Ubuntu put the faces, used when `fc-list` is not installed. */
const KNOWN_FILES: Record<string, { regular: string[]; bold: string[] }> = {
  [CJK_FONT]: {
    regular: [
      '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
      '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
    ],
    bold: [
      '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc',
      '/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc',
    ],
  },
  [LATIN_FONT]: {
    regular: ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'],
    bold: ['/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
  },
};

interface FontFiles {
  regular?: string;
  bold?: string;
}

function run(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}

/** Finds the Regular/Bold files of a family via `fc-list`, else the known Debian paths. */
async function findFontFiles(family: string): Promise<FontFiles> {
  const out = await run('fc-list', [`${family}`, 'file', 'style']);
  const files: FontFiles = {};
  if (out !== null) {
    for (const line of out.split('\n').sort()) {
      const m = /^(.+?):\s*style=(.*)$/.exec(line.trim());
      if (!m) continue;
      const styles = m[2]!.split(',');
      if (!files.regular && styles.includes('Regular')) files.regular = m[1]!;
      if (!files.bold && styles.includes('Bold')) files.bold = m[1]!;
    }
    if (files.regular) return files;
  }
  const known = KNOWN_FILES[family];
  if (known) {
    files.regular = known.regular.find((p) => existsSync(p));
    files.bold = known.bold.find((p) => existsSync(p));
  }
  return files;
}

let fontFilesPromise: Promise<Map<string, FontFiles>> | undefined;

function allFontFiles(): Promise<Map<string, FontFiles>> {
  fontFilesPromise ??= (async () => {
    const entries = await Promise.all(REQUIRED_FONTS.map(async (f) => [f, await findFontFiles(f)] as const));
    return new Map(entries);
  })();
  return fontFilesPromise;
}

export interface FontCheck {
  ok: boolean;
  missing: string[];
  /** Human-readable hint for the start-up warning; empty when ok. */
  hint: string;
}

/** Checks that every chart face is installed; the app logs `hint` as a warning when not ok. */
export async function checkChartFonts(): Promise<FontCheck> {
  const files = await allFontFiles();
  const missing = REQUIRED_FONTS.filter((f) => !files.get(f)?.regular);
  const hint =
    missing.length === 0
      ? ''
      : `Chart fonts missing: ${missing.join(', ')}. Chinese chart text will render as boxes. ` +
        'Install them (Debian/Ubuntu: apt-get install fonts-noto-cjk fonts-dejavu-core) and restart.';
  return { ok: missing.length === 0, missing, hint };
}

type GlobalFontsLike = {
  has(family: string): boolean;
  registerFromPath(path: string, alias?: string): unknown;
};

/** Registers the chart faces with @napi-rs/canvas so vega measures text with the real font. */
export async function registerMeasurementFonts(globalFonts: GlobalFontsLike | undefined): Promise<void> {
  if (!globalFonts) return;
  const files = await allFontFiles();
  // The CJK collection's first face is JP; register the files under the SC name.
  const cjk = files.get(CJK_FONT);
  if (cjk?.regular) globalFonts.registerFromPath(cjk.regular, CJK_FONT);
  if (cjk?.bold) globalFonts.registerFromPath(cjk.bold, CJK_FONT);
}

/** Makes sure fontconfig has a writable cache dir (see the file comment). Returns the dir used. */
export function ensureFontCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const writable = (dir: string): boolean => {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (env.XDG_CACHE_HOME && writable(env.XDG_CACHE_HOME)) return env.XDG_CACHE_HOME;
  if (!env.XDG_CACHE_HOME) {
    const home = join(homedir(), '.cache');
    if (writable(home)) return home;
  }
  const fallback = join(tmpdir(), 'dealpulse-cache');
  mkdirSync(fallback, { recursive: true });
  env.XDG_CACHE_HOME = fallback;
  return fallback;
}
