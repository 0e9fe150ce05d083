/**
 * A FormSpec as step-by-step prompts: one question per field with its default
 * in [brackets], selects and checklists as numbered options. After submitting,
 * fields the core rejects are asked again (only those), with the error shown.
 * An empty answer at the first prompt (when it has no default), `/cancel` or
 * Ctrl-C cancels the form; the end of input does too.
 */
import type { Locale } from '../../domain/types.js';
import { fieldLabel, t } from '../../i18n/index.js';
import type { FormField, FormSpec, SubmitOutcome } from '../../interactions/types.js';
import { renderText, safeText } from './render.js';
import { INTERRUPT, type Terminal } from './terminal.js';

export type FormResult =
  | { kind: 'done'; outcome: Extract<SubmitOutcome, { kind: 'done' }> }
  | { kind: 'cancelled' }
  /** Rejected for a reason no field can fix (conflict, not found, forbidden): the localized text. */
  | { kind: 'failed'; error: string };

class Cancelled extends Error {}

const CANCEL_WORDS = new Set(['/cancel', 'cancel', '/取消', '取消']);

function displayValue(field: FormField, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (field.kind === 'select') return field.options?.find((o) => o.value === value)?.label ?? value;
  if (field.kind === 'checklist') {
    const picked = value.split(',').filter(Boolean);
    return (
      field.options
        ?.filter((o) => picked.includes(o.value))
        .map((o) => o.label)
        .join(', ') || undefined
    );
  }
  return value;
}

/** Matches an answer to a select option: its number, value or label (case-insensitive). */
function pickOption(field: FormField, answer: string): string | undefined {
  const options = field.options ?? [];
  if (/^\d+$/.test(answer)) return options[Number(answer) - 1]?.value;
  const lower = answer.toLowerCase();
  return options.find((o) => o.value.toLowerCase() === lower || o.label.toLowerCase() === lower)?.value;
}

export class FormPrompter {
  private asked = 0;

  constructor(
    private readonly term: Terminal,
    private readonly locale: Locale,
  ) {}

  private say(text: string): void {
    this.term.print(text);
  }

  private async answer(question: string): Promise<string> {
    if (!this.term.tty) this.say(question);
    const r = await this.term.read(this.term.tty ? `${question} ` : '');
    if (r === null || r === INTERRUPT) throw new Cancelled();
    const text = r.trim();
    if (CANCEL_WORDS.has(text.toLowerCase())) throw new Cancelled();
    return text;
  }

  /** Asks one field until the answer is acceptable; returns the value to submit. */
  private async ask(field: FormField, current: string | undefined, error?: string): Promise<string> {
    const L = this.locale;
    if (error) this.say(t(L, 'console.form.fixField', { field: safeText(field.label), error }));
    const options = field.options ?? [];
    if ((field.kind === 'select' || field.kind === 'checklist') && options.length)
      this.say(options.map((o, i) => `  ${i + 1}) ${safeText(o.label)}`).join('\n'));
    const hint =
      field.kind === 'select'
        ? t(L, 'console.form.pickOne')
        : field.kind === 'checklist'
          ? t(L, 'console.form.pickMany')
          : field.hint;
    for (;;) {
      const shown = displayValue(field, current);
      const tag = field.required ? ' *' : '';
      const question = `${safeText(field.label)}${tag}${hint ? ` (${safeText(hint)})` : ''}${shown ? ` [${safeText(shown)}]` : ''}:`;
      const first = this.asked++ === 0;
      const text = await this.answer(question);
      if (text === '') {
        if (shown !== undefined) return current!;
        if (first && !error) throw new Cancelled();
        if (!field.required) return '';
        this.say(t(L, 'console.form.needed', { field: safeText(field.label) }));
        continue;
      }
      if (text === '-') {
        if (!field.required) return '';
        this.say(t(L, 'console.form.needed', { field: safeText(field.label) }));
        continue;
      }
      if (field.kind === 'select' && options.length) {
        const v = pickOption(field, text);
        if (v !== undefined) return v;
        this.say(t(L, 'console.form.badChoice', { value: safeText(text), max: options.length }));
        continue;
      }
      if (field.kind === 'checklist' && options.length) {
        const parts = text.split(/[\s,，、]+/).filter(Boolean);
        const picked = parts.map((p) => pickOption(field, p));
        const bad = parts.find((_, i) => picked[i] === undefined);
        if (bad === undefined) return [...new Set(picked as string[])].join(',');
        this.say(t(L, 'console.form.badChoice', { value: safeText(bad), max: options.length }));
        continue;
      }
      if (field.kind === 'user') return text.replace(/^<@([^>|]+)(?:\|[^>]*)?>$/, '$1').replace(/^@/, '');
      return text;
    }
  }

  /**
   * Fills and submits a form. `submit` is the interaction core's submitForm with
   * the context bound; it is called again after each round of corrections.
   */
  async fill(
    form: FormSpec,
    submit: (values: Record<string, string>) => Promise<SubmitOutcome>,
  ): Promise<FormResult> {
    const L = this.locale;
    const fields = [...form.fields];
    const values: Record<string, string> = {};
    for (const f of fields) values[f.name] = f.initial ?? '';
    try {
      this.say(`\n${safeText(form.title)}\n${'─'.repeat(Math.max(3, Math.min(60, form.title.length)))}`);
      for (const line of form.intro ?? []) this.say(renderText(line));
      this.say(t(L, 'console.form.hintDefault'));
      for (const f of fields) values[f.name] = await this.ask(f, values[f.name]);
      for (;;) {
        const outcome = await submit(values);
        if (outcome.kind === 'done') return { kind: 'done', outcome };
        const errors = { ...outcome.errors };
        const general = errors._form;
        delete errors._form;
        const names = Object.keys(errors);
        if (names.length === 0) return { kind: 'failed', error: general ?? t(L, 'forbidden.generic') };
        this.say(t(L, 'console.form.fix'));
        if (general) this.say(general);
        // Errors for fields the form did not show (another target stage needs more) are asked as text.
        for (const name of names)
          if (!fields.some((f) => f.name === name))
            fields.push({ name, label: fieldLabel(L, name), kind: 'text', required: false });
        for (const f of fields)
          if (errors[f.name] !== undefined)
            values[f.name] = await this.ask(f, values[f.name], errors[f.name]);
      }
    } catch (err) {
      if (err instanceof Cancelled) {
        this.say(t(L, 'console.form.cancelled'));
        return { kind: 'cancelled' };
      }
      throw err;
    }
  }
}
