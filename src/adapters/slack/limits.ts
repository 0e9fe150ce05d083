/**
 * Block Kit limits (https://api.slack.com/reference/block-kit) and a validator
 * for every payload the bot sends. The renderers enforce these limits; the
 * validator lets tests prove it on real payloads.
 */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  text: 3000,
  headerText: 150,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 2000,
  callbackId: 255,
  label: 2000,
  hint: 2000,
  placeholder: 150,
  optionText: 75,
  optionValue: 150,
  options: 100,
  checkboxOptions: 10,
  inputMaxLength: 3000,
  altText: 2000,
  /** Top-level `text` of chat.postMessage; Slack truncates beyond 40,000, we keep it short. */
  messageText: 4000,
} as const;

export type SurfaceKind = 'message' | 'modal' | 'home';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (s: unknown): number => (typeof s === 'string' ? [...s].length : 0);

/** Returns every limit a payload breaks (empty when it is valid). */
export function validateSurface(kind: SurfaceKind, payload: Obj): string[] {
  const problems: string[] = [];
  const check = (cond: boolean, what: string) => {
    if (!cond) problems.push(what);
  };
  const blocks = Array.isArray(payload.blocks) ? (payload.blocks as unknown[]) : [];
  const maxBlocks = kind === 'message' ? LIMITS.messageBlocks : LIMITS.viewBlocks;
  check(blocks.length <= maxBlocks, `${blocks.length} blocks > ${maxBlocks}`);
  if (kind === 'message' && typeof payload.text === 'string')
    check(len(payload.text) <= LIMITS.messageText, `text ${len(payload.text)} > ${LIMITS.messageText}`);
  if (kind !== 'message') {
    if (kind === 'modal') {
      check(
        isObj(payload.title) && len(payload.title.text) <= LIMITS.viewTitle && len(payload.title.text) > 0,
        'modal title',
      );
      for (const b of ['submit', 'close'] as const)
        if (isObj(payload[b])) check(len((payload[b] as Obj).text) <= LIMITS.viewButton, `modal ${b} label`);
    }
    check(len(payload.private_metadata) <= LIMITS.privateMetadata, 'private_metadata too long');
    check(len(payload.callback_id) <= LIMITS.callbackId, 'callback_id too long');
  }
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => {
    const where = `block ${i}`;
    if (!isObj(b)) return problems.push(`${where}: not an object`);
    if (b.block_id !== undefined) {
      check(len(b.block_id) <= LIMITS.blockId, `${where}: block_id too long`);
      check(!blockIds.has(String(b.block_id)), `${where}: duplicate block_id`);
      blockIds.add(String(b.block_id));
    }
    checkBlock(b, where, check);
  });
  return problems;
}

function checkText(t: unknown, max: number, where: string, check: (c: boolean, w: string) => void) {
  if (!isObj(t)) return check(false, `${where}: missing text object`);
  check(len(t.text) > 0, `${where}: empty text`);
  check(len(t.text) <= max, `${where}: text ${len(t.text)} > ${max}`);
}

function checkBlock(b: Obj, where: string, check: (c: boolean, w: string) => void) {
  switch (b.type) {
    case 'header':
      checkText(b.text, LIMITS.headerText, where, check);
      break;
    case 'section': {
      if (b.text !== undefined) checkText(b.text, LIMITS.text, where, check);
      const fields = Array.isArray(b.fields) ? b.fields : [];
      check(fields.length <= LIMITS.fields, `${where}: ${fields.length} fields`);
      fields.forEach((f, j) => checkText(f, LIMITS.fieldText, `${where} field ${j}`, check));
      check(b.text !== undefined || fields.length > 0, `${where}: section without text`);
      if (isObj(b.accessory)) checkElement(b.accessory, `${where} accessory`, check);
      break;
    }
    case 'context': {
      const els = Array.isArray(b.elements) ? b.elements : [];
      check(
        els.length > 0 && els.length <= LIMITS.contextElements,
        `${where}: ${els.length} context elements`,
      );
      els.forEach((e, j) => {
        if (isObj(e) && e.type === 'image') check(len(e.alt_text) <= LIMITS.altText, `${where}: alt_text`);
        else checkText(e, LIMITS.text, `${where} element ${j}`, check);
      });
      break;
    }
    case 'actions': {
      const els = Array.isArray(b.elements) ? b.elements : [];
      check(els.length > 0 && els.length <= LIMITS.actionsElements, `${where}: ${els.length} actions`);
      const ids = new Set<string>();
      els.forEach((e, j) => {
        if (!isObj(e)) return;
        checkElement(e, `${where} element ${j}`, check);
        check(!ids.has(String(e.action_id)), `${where}: duplicate action_id ${String(e.action_id)}`);
        ids.add(String(e.action_id));
      });
      break;
    }
    case 'input':
      checkText(b.label, LIMITS.label, `${where} label`, check);
      if (b.hint !== undefined) checkText(b.hint, LIMITS.hint, `${where} hint`, check);
      if (isObj(b.element)) checkElement(b.element, `${where} element`, check);
      else check(false, `${where}: input without element`);
      break;
    case 'image':
      check(len(b.alt_text) > 0 && len(b.alt_text) <= LIMITS.altText, `${where}: alt_text`);
      check(typeof b.image_url === 'string' || isObj(b.slack_file), `${where}: image without source`);
      break;
    case 'divider':
      break;
    default:
      check(false, `${where}: unexpected block type ${String(b.type)}`);
  }
}

function checkElement(e: Obj, where: string, check: (c: boolean, w: string) => void) {
  if (e.action_id !== undefined) check(len(e.action_id) <= LIMITS.actionId, `${where}: action_id too long`);
  if (e.placeholder !== undefined)
    checkText(e.placeholder, LIMITS.placeholder, `${where} placeholder`, check);
  switch (e.type) {
    case 'button':
      checkText(e.text, LIMITS.buttonText, where, check);
      check(len(e.value) <= LIMITS.buttonValue, `${where}: value too long`);
      break;
    case 'static_select':
    case 'multi_static_select':
    case 'checkboxes':
    case 'radio_buttons': {
      const opts = Array.isArray(e.options) ? e.options : [];
      const max =
        e.type === 'checkboxes' || e.type === 'radio_buttons' ? LIMITS.checkboxOptions : LIMITS.options;
      check(opts.length > 0 && opts.length <= max, `${where}: ${opts.length} options > ${max}`);
      opts.forEach((o, j) => {
        if (!isObj(o)) return;
        checkText(o.text, LIMITS.optionText, `${where} option ${j}`, check);
        check(len(o.value) > 0 && len(o.value) <= LIMITS.optionValue, `${where} option ${j}: value`);
      });
      break;
    }
    case 'plain_text_input':
      if (e.max_length !== undefined)
        check(Number(e.max_length) <= LIMITS.inputMaxLength, `${where}: max_length`);
      if (e.initial_value !== undefined)
        check(
          len(e.initial_value) <= Number(e.max_length ?? LIMITS.inputMaxLength),
          `${where}: initial_value too long`,
        );
      break;
    case 'datepicker':
      if (e.initial_date !== undefined)
        check(/^\d{4}-\d{2}-\d{2}$/.test(String(e.initial_date)), `${where}: initial_date`);
      break;
    case 'users_select':
      break;
    case 'file_input': {
      // Modals only (an input block); 1–10 files, file types as extensions without the dot.
      const max = e.max_files === undefined ? 10 : Number(e.max_files);
      check(Number.isInteger(max) && max >= 1 && max <= 10, `${where}: max_files`);
      if (e.filetypes !== undefined)
        check(
          Array.isArray(e.filetypes) &&
            e.filetypes.every((t) => typeof t === 'string' && /^[a-z0-9]+$/.test(t)),
          `${where}: filetypes`,
        );
      break;
    }
    default:
      check(false, `${where}: unexpected element type ${String(e.type)}`);
  }
}
