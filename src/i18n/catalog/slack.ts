/** Messages of the slack surface, under the `slack.` prefix. zhCN must have every key of en. */
export const en = {};

export const zhCN: typeof en = {};
