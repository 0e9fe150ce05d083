/**
 * The demo pipeline as a pure, seeded plan: ~300 deals created over the last six
 * months, each with the stage moves, wins, losses and notes that happened to it.
 * Loading executes the plan through the use cases with the clock set to each step.
 *
 * The shape is the method's: stage conversions of 65–75% except at Proposal,
 * whose conversion falls from ~65% six months ago to ~30% in the last month and
 * whose dwell (median ~11 days) is well past its 5-day threshold — a visible
 * bottleneck. Deals whose next move falls after "now" stay open where they are,
 * so the recent ones are in flight and the slow ones are stalled; a few went
 * dark long ago and still sit where they stopped. Next steps come due 2–20 days after a move, so some are overdue.
 */
import { DEAL_SOURCES } from '../domain/parse.js';
import type { Locale } from '../domain/types.js';
import { demoContent, type DemoPerson } from './data.js';

export const DEMO_DEALS = 300;
export const DEMO_DAYS = 182;
const DAY = 86_400_000;

/** mulberry32: small, fast, good enough for demo data, identical on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type PlanStep =
  | {
      kind: 'advance';
      at: Date;
      to: string;
      nextStep: { text: string; due: Date };
      closeDate?: Date;
      bant?: { budget: string; authority: string; need: string; timeline: string };
    }
  | { kind: 'won'; at: Date }
  | { kind: 'lost'; at: Date; reason: string; detail?: string }
  | { kind: 'note'; at: Date; text: string };

export interface DealPlan {
  n: number;
  externalId: string;
  name: string;
  company: string;
  amount: number;
  source: string;
  ownerId: string;
  createdAt: Date;
  nextStep: { text: string; due: Date };
  steps: PlanStep[];
}

export interface DemoPlan {
  people: DemoPerson[];
  deals: DealPlan[];
}

const SOURCE_WEIGHTS: Record<string, number> = {
  website: 20,
  paid_search: 10,
  content: 8,
  social: 5,
  referral: 14,
  event: 12,
  outbound: 18,
  partner: 10,
  other: 3,
};
/** Referrals and partners convert better; paid and social leads worse. */
const SOURCE_QUALITY: Record<string, number> = {
  referral: 0.08,
  partner: 0.05,
  event: 0.02,
  paid_search: -0.06,
  social: -0.07,
};

interface StageModel {
  key: string;
  /** Conversion to the next stage, by how many days ago the deal was created. */
  p: (ageDays: number) => number;
  medianDays: number;
  lostReasons: [string, number][];
}

const STAGES: StageModel[] = [
  {
    key: 'lead',
    p: () => 0.74,
    medianDays: 3,
    lostReasons: [
      ['no_budget', 3],
      ['product_fit', 3],
      ['no_decision', 4],
      ['timing', 2],
    ],
  },
  {
    key: 'qualification',
    p: () => 0.7,
    medianDays: 5,
    lostReasons: [
      ['no_budget', 4],
      ['timing', 3],
      ['product_fit', 2],
      ['no_decision', 2],
    ],
  },
  {
    key: 'needs',
    p: () => 0.74,
    medianDays: 6,
    lostReasons: [
      ['product_fit', 3],
      ['competitor', 2],
      ['timing', 2],
      ['no_decision', 2],
    ],
  },
  {
    key: 'proposal',
    // The bottleneck: worse every month (a new competitor undercuts the price).
    p: (age) => 0.3 + 0.34 * Math.min(1, Math.max(0, (age - 25) / 130)),
    medianDays: 11,
    lostReasons: [
      ['price', 5],
      ['competitor', 4],
      ['no_decision', 2],
      ['timing', 1],
    ],
  },
  {
    key: 'negotiation',
    p: () => 0.66,
    medianDays: 6,
    lostReasons: [
      ['price', 3],
      ['competitor', 2],
      ['no_decision', 1],
    ],
  },
];

function pickWeighted<T>(rand: () => number, items: readonly [T, number][]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

/** Standard normal (Box–Muller). */
function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-9);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A stay in a stage: log-normal around the median, at least a few hours. */
const dwellDays = (rand: () => number, median: number): number =>
  Math.max(0.2, median * Math.exp(0.55 * normal(rand)));

function roundAmount(x: number, locale: Locale): number {
  const step = locale === 'zh-CN' ? 1000 : 500;
  return Math.max(step, Math.round(x / step) * step);
}

/**
 * Builds the plan for a given "now". Deterministic: same seed, now and locale
 * give the same deals, so loading is repeatable and tests can check numbers.
 */
export function planDemo(opts: { now: Date; locale: Locale; seed?: number; deals?: number }): DemoPlan {
  const rand = prng(opts.seed ?? 20_240_607);
  const content = demoContent(opts.locale);
  const count = opts.deals ?? DEMO_DEALS;
  const now = opts.now.getTime();
  const owners: [DemoPerson, number][] = content.people.map((p) => [p, p.share]);
  const sources: [string, number][] = DEAL_SOURCES.map((s) => [s, SOURCE_WEIGHTS[s] ?? 1]);
  const typical = opts.locale === 'zh-CN' ? 180_000 : 28_000;
  const deals: DealPlan[] = [];
  for (let i = 0; i < count; i++) {
    // Creation times spread over six months, a little busier lately; sorted by index.
    const frac = i / count;
    const ageDays = DEMO_DAYS * (1 - Math.pow(frac, 0.85)) - rand() * 0.5;
    const createdAt = now - Math.max(0.3, ageDays) * DAY;
    const owner = pickWeighted(rand, owners);
    const source = pickWeighted(rand, sources);
    const company = pick(rand, content.companies);
    const product = pick(rand, content.products);
    const amount = roundAmount(typical * Math.exp(0.7 * normal(rand)), opts.locale);
    const quality = (SOURCE_QUALITY[source] ?? 0) + owner.skill;
    // A few deals go dark: they sit in one stage far past any threshold.
    const darkAt = rand() < 0.04 ? Math.floor(rand() * 4) : -1;
    const steps: PlanStep[] = [];
    let t = createdAt;
    const due = (from: number) => new Date(from + (2 + Math.floor(rand() * 18)) * DAY);
    const nextStep = { text: pick(rand, content.nextSteps), due: due(createdAt) };
    let noteDone = false;
    for (let s = 0; s < STAGES.length; s++) {
      const model = STAGES[s]!;
      const stay = dwellDays(rand, model.medianDays);
      const leaveAt = t + stay * DAY;
      if (!noteDone && rand() < 0.12 && t + (stay / 2) * DAY < now) {
        steps.push({ kind: 'note', at: new Date(t + (stay / 2) * DAY), text: pick(rand, content.notes) });
        noteDone = true;
      }
      if (leaveAt > now || s === darkAt) break; // still in this stage
      const converts = rand() < Math.min(0.95, Math.max(0.05, model.p((now - createdAt) / DAY) + quality));
      if (!converts) {
        const reason = pickWeighted(rand, model.lostReasons);
        const details = content.lossDetails[reason];
        steps.push({
          kind: 'lost',
          at: new Date(leaveAt),
          reason,
          ...(details && rand() < 0.6 ? { detail: pick(rand, details) } : {}),
        });
        break;
      }
      t = leaveAt;
      const next = STAGES[s + 1];
      if (!next) {
        steps.push({ kind: 'won', at: new Date(t) });
        break;
      }
      steps.push({
        kind: 'advance',
        at: new Date(t),
        to: next.key,
        nextStep: { text: pick(rand, content.nextSteps), due: due(t) },
        ...(next.key === 'needs'
          ? {
              bant: {
                budget: pick(rand, content.bant.budget),
                authority: pick(rand, content.bant.authority),
                need: pick(rand, content.bant.need),
                timeline: pick(rand, content.bant.timeline),
              },
            }
          : {}),
        ...(next.key === 'proposal' ? { closeDate: new Date(t + (25 + Math.floor(rand() * 40)) * DAY) } : {}),
      });
    }
    deals.push({
      n: i + 1,
      externalId: `demo-${i + 1}`,
      name: product,
      company,
      amount,
      source,
      ownerId: owner.userId,
      createdAt: new Date(createdAt),
      nextStep,
      steps,
    });
  }
  return { people: content.people, deals };
}
