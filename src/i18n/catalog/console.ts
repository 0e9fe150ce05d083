/** Messages of the console surface, under the `console.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
