/** Core domain types. Pure data: no Mongoose, no platform types. */
export type Locale = 'en' | 'zh-CN';
export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];
export type LocalizedText = { en: string; 'zh-CN': string };

export type Platform = 'slack' | 'feishu' | 'console';
export type Role = 'rep' | 'manager' | 'admin';
export const ROLES: readonly Role[] = ['rep', 'manager', 'admin'];

export type DealStatus = 'open' | 'won' | 'lost';

/** Fields a stage can require before a deal enters it. */
export type RequirableField =
  | 'company'
  | 'amount'
  | 'closeDate'
  | 'bant.budget'
  | 'bant.authority'
  | 'bant.need'
  | 'bant.timeline'
  | `custom.${string}`;

export interface StageDef {
  /** Stable ASCII key, e.g. `proposal`. Never changes once created; history refers to it. */
  key: string;
  labels: LocalizedText;
  /** Win probability used by the weighted forecast, 0..1. */
  probability: number;
  /** Days in the stage after which a deal counts as stalled; null for terminal stages. */
  stallDays: number | null;
  /** Entry criteria shown when a deal enters the stage. */
  checklist: LocalizedText[];
  /** Fields that must be filled before a deal may enter the stage. */
  requiredFields: RequirableField[];
  terminal?: 'won' | 'lost';
  aliases?: string[];
  /** Removed stages stay for history but accept no deals. */
  active: boolean;
}

export interface Bant {
  budget?: string | undefined;
  authority?: string | undefined;
  need?: string | undefined;
  timeline?: string | undefined;
}

export interface NextStep {
  text: string;
  dueAt: Date | null;
}

export interface LostReasonDef {
  key: string;
  labels: LocalizedText;
}

export type CustomFieldType = 'text' | 'number' | 'date' | 'select';
export interface CustomFieldDef {
  key: string;
  labels: LocalizedText;
  type: CustomFieldType;
  options?: string[];
  required?: boolean;
}

export type CustomValue = string | number | Date;

export interface Deal {
  id: string;
  workspaceId: string;
  code: string;
  number: number;
  name: string;
  company: string;
  amount: number | null;
  currency: string;
  ownerId: string;
  stage: string;
  stageEnteredAt: Date;
  status: DealStatus;
  lostReason?: { key?: string | undefined; text?: string | undefined } | undefined;
  nextStep?: NextStep | undefined;
  source: string;
  bant: Bant;
  closeDate: Date | null;
  custom: Record<string, CustomValue>;
  snoozedUntil?: Date | null | undefined;
  createdAt: Date;
  createdBy: string;
  closedAt?: Date | null | undefined;
  updatedAt: Date;
  version: number;
  externalId?: string | undefined;
}

export interface StageChange {
  id: string;
  workspaceId: string;
  dealId: string;
  from: string | null;
  to: string;
  at: Date;
  by: string;
  /** Deal version this change produced. */
  version: number;
  reason?: string | undefined;
}

export type NoteOrigin = 'command' | 'thread' | 'alert' | 'rule' | 'import';
export interface Note {
  id: string;
  workspaceId: string;
  dealId: string;
  authorId: string;
  text: string;
  at: Date;
  origin: NoteOrigin;
  permalink?: string | undefined;
  dueAt?: Date | null | undefined;
  assigneeId?: string | undefined;
}

export interface Member {
  workspaceId: string;
  userId: string;
  displayName: string;
  role: Role;
  locale?: Locale | undefined;
  email?: string | undefined;
}
