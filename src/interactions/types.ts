/**
 * The interaction model every chat surface shares. A command or a button
 * produces an Outcome: a message to show, or a form to fill. Slack renders forms
 * as modals, Feishu as form cards (card JSON 2.0), the console as prompts.
 * Submitting a form produces a message or per-field errors, already localized.
 */
import type { RichMessage, RichText } from '../presenters/rich.js';

export type FormId =
  | 'deal_new'
  | 'deal_edit'
  | 'deal_advance'
  | 'deal_lost'
  | 'next_step'
  | 'note'
  | 'snooze'
  | 'settings'
  | 'import';

export type FormFieldKind = 'text' | 'textarea' | 'select' | 'user' | 'date' | 'checklist';

export interface FormOption {
  value: string;
  label: string;
}

export interface FormField {
  /** Stable name, also the key of `values` on submit: `name`, `amount`, `bant.need`, `custom.region`, `nextStep.text`, `nextStep.due` … */
  name: string;
  label: string;
  kind: FormFieldKind;
  required: boolean;
  /** Initial value as text (select: an option value; user: a user id; date: YYYY-MM-DD; checklist: comma-separated values). */
  initial?: string;
  placeholder?: string;
  /** A short hint under the field (what is accepted). */
  hint?: string;
  options?: FormOption[];
  maxLength?: number;
}

export interface FormSpec {
  id: FormId;
  title: string;
  submitLabel: string;
  /** Opaque state the platform must carry back unchanged (deal id, version, page…); at most 2,000 characters. */
  state: string;
  /** Text shown above the fields (entry checklist, deal summary). */
  intro?: RichText[];
  fields: FormField[];
}

export type Visibility = 'ephemeral' | 'channel';

export type Outcome =
  | {
      kind: 'message';
      message: RichMessage;
      /** Ephemeral (only the user sees it) or posted in the channel for the team. */
      visibility: Visibility;
      /** When set, the posted message is about this deal: replies in its thread become notes. */
      dealId?: string;
      /** Set when the message reports a failure (a typed error's kind, or an unknown command). */
      error?: 'NotFound' | 'Forbidden' | 'Conflict' | 'Invalid' | 'unknown_command' | 'unexpected';
    }
  | { kind: 'form'; form: FormSpec };

export type SubmitOutcome =
  | { kind: 'done'; message: RichMessage; visibility: Visibility; dealId?: string }
  /** Field name → localized error; `_form` holds errors that belong to no field. */
  | { kind: 'errors'; errors: Record<string, string> };
