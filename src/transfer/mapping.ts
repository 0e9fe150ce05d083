/**
 * Column mapping: which deal field each spreadsheet column holds, detected from its header in English or
 * Chinese (case, spaces, punctuation, full-width forms and a trailing `(unit)` ignored). The headers DealPulse
 * writes in its own exports (both languages) are recognised too, so an export can be edited and imported back.
 * Pure: no I/O.
 */
import type { CustomFieldDef } from '../domain/types.js';
import { t } from '../i18n/index.js';

export const IMPORT_FIELDS = [
  'externalId',
  'code',
  'name',
  'company',
  'amount',
  'currency',
  'stage',
  'status',
  'owner',
  'source',
  'closeDate',
  'nextStep',
  'nextStepDue',
  'createdAt',
  'stageEnteredAt',
  'closedAt',
  'lostReason',
  'bant.budget',
  'bant.authority',
  'bant.need',
  'bant.timeline',
] as const;

export type BuiltinImportField = (typeof IMPORT_FIELDS)[number];
export type ImportField = BuiltinImportField | `custom.${string}`;

/** Columns DealPulse computes in exports; recognised so they are ignored on re-import, never imported. */
export const COMPUTED_COLUMNS = ['daysInStage', 'updatedAt'] as const;

const SYNONYMS: Record<BuiltinImportField, readonly string[]> = {
  externalId: [
    'id',
    'external id',
    'record id',
    'crm id',
    'opportunity id',
    'deal id',
    '编号',
    '外部编号',
    '外部id',
    '记录id',
    '商机id',
    '序号id',
  ],
  code: ['code', 'deal code', 'dealpulse code', '商机编号', '商机代码'],
  name: [
    'deal',
    'deal name',
    'name',
    'opportunity',
    'opportunity name',
    'title',
    'deal title',
    '商机',
    '商机名称',
    '名称',
    '项目',
    '项目名称',
    '机会名称',
    '销售机会',
  ],
  company: [
    'company',
    'company name',
    'account',
    'account name',
    'customer',
    'client',
    'organization',
    'organisation',
    '客户',
    '客户名称',
    '公司',
    '公司名称',
    '企业名称',
  ],
  amount: [
    'amount',
    'value',
    'deal value',
    'deal amount',
    'deal size',
    'revenue',
    'expected revenue',
    'acv',
    '金额',
    '商机金额',
    '预计金额',
    '合同金额',
    '预计收入',
  ],
  currency: ['currency', 'currency code', '币种', '货币'],
  stage: ['stage', 'deal stage', 'sales stage', 'pipeline stage', '阶段', '销售阶段', '商机阶段'],
  status: ['status', 'deal status', 'state', 'result', '状态', '商机状态', '结果'],
  owner: [
    'owner',
    'deal owner',
    'owner email',
    'sales rep',
    'rep',
    'salesperson',
    'assigned to',
    'account executive',
    '负责人',
    '销售',
    '销售负责人',
    '所有者',
    '跟进人',
    '负责人邮箱',
  ],
  source: ['source', 'lead source', 'deal source', 'origin', '来源', '线索来源', '客户来源', '商机来源'],
  closeDate: [
    'close date',
    'expected close date',
    'expected close',
    'closing date',
    'target close date',
    '预计成交日期',
    '预计签约日期',
    '预计成交时间',
    '预计关闭日期',
  ],
  nextStep: ['next step', 'next steps', 'next action', '下一步', '下一步行动', '下一步计划'],
  nextStepDue: [
    'next step due',
    'next step date',
    'next action date',
    'due date',
    '下一步截止日期',
    '下一步日期',
    '截止日期',
  ],
  createdAt: [
    'created',
    'created date',
    'create date',
    'created at',
    'created on',
    'date created',
    '创建日期',
    '创建时间',
  ],
  stageEnteredAt: [
    'stage since',
    'stage date',
    'stage entered',
    'stage entered at',
    'date entered stage',
    'in stage since',
    'stage start date',
    '进入阶段日期',
    '进入当前阶段日期',
    '阶段日期',
    '阶段开始日期',
  ],
  closedAt: [
    'closed',
    'closed date',
    'closed at',
    'closed on',
    'date closed',
    'won date',
    'lost date',
    '成交日期',
    '关闭日期',
    '结束日期',
    '赢单日期',
    '输单日期',
  ],
  lostReason: [
    'lost reason',
    'loss reason',
    'reason lost',
    'closed lost reason',
    'reason',
    '流失原因',
    '输单原因',
    '丢单原因',
    '原因',
  ],
  'bant.budget': ['budget', '预算'],
  'bant.authority': ['authority', 'decision maker', '决策人', '决策者'],
  'bant.need': ['need', 'needs', '需求'],
  'bant.timeline': ['timeline', '时间表', '时间线', '时间计划'],
};

/** Lower case, NFKC, a trailing `(…)`/`（…）` and all spaces, punctuation and symbols removed. */
export function normalizeHeader(header: string): string {
  return header
    .normalize('NFKC')
    .replace(/\s*\([^)]*\)\s*$/u, '')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, '');
}

export interface ColumnMapping {
  index: number;
  header: string;
  field: ImportField | null;
  /** A column DealPulse computes in its exports (days in stage …): always ignored. */
  computed?: boolean;
}

export interface Mapping {
  columns: ColumnMapping[];
}

let builtinIndex: Map<string, BuiltinImportField | 'computed'> | undefined;

function builtins(): Map<string, BuiltinImportField | 'computed'> {
  if (builtinIndex) return builtinIndex;
  const m = new Map<string, BuiltinImportField | 'computed'>();
  for (const field of IMPORT_FIELDS) {
    for (const name of [
      ...SYNONYMS[field],
      t('en', `transfer.header.${field}`),
      t('zh-CN', `transfer.header.${field}`),
    ]) {
      const key = normalizeHeader(name);
      if (key && !m.has(key)) m.set(key, field);
    }
  }
  for (const c of COMPUTED_COLUMNS)
    for (const locale of ['en', 'zh-CN'] as const) {
      const key = normalizeHeader(t(locale, `transfer.header.${c}`));
      if (key && !m.has(key)) m.set(key, 'computed');
    }
  builtinIndex = m;
  return m;
}

/**
 * Maps each header to a field: the workspace's custom fields first (key or label in either language), then the
 * built-in synonyms. A field claimed by an earlier column leaves later columns with the same meaning unmapped.
 */
export function detectMapping(
  headers: readonly string[],
  customFields: readonly CustomFieldDef[] = [],
): Mapping {
  const taken = new Set<ImportField>();
  const index = builtins();
  const columns = headers.map((header, i): ColumnMapping => {
    const key = normalizeHeader(header);
    let field: ImportField | 'computed' | null = null;
    const custom = customFields.find((f) =>
      [f.key, f.labels.en, f.labels['zh-CN']].some((n) => normalizeHeader(n) === key),
    );
    if (key === '') field = null;
    else if (custom) field = `custom.${custom.key}`;
    else field = index.get(key) ?? null;
    if (field === 'computed') return { index: i, header, field: null, computed: true };
    if (field && taken.has(field)) field = null;
    if (field) taken.add(field);
    return { index: i, header, field };
  });
  return { columns };
}

/** Columns no field claimed (and that are not computed export columns), with a non-empty header. */
export function unknownColumns(mapping: Mapping): ColumnMapping[] {
  return mapping.columns.filter((c) => c.field === null && !c.computed && c.header.trim() !== '');
}
