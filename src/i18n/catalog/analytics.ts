/** Messages of the analytics surface, under the `analytics.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
