/** Messages of the feishu surface, under the `feishu.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
