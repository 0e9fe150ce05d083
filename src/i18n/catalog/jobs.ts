/** Messages of the jobs surface, under the `jobs.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
