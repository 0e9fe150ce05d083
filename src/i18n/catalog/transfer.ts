/** Messages of the transfer surface, under the `transfer.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
