/** Messages of the feishu surface, under the `feishu.` prefix. zhCN must have every key of en. */
export const en = {
  /** One line of a fields block; label and value are already escaped card markdown. */
  field_line: '**{{label}}**: {{value}}',
  truncated: 'This card was shortened to fit Feishu’s size limit.',
  toast_done: 'Done',
  toast_form_errors: 'Please fix the highlighted fields.',
  toast_working: 'Working on it… the card will update shortly.',
  toast_sent: 'Sent',
  toast_expired: 'This card is out of date. Send the command again.',
  unsupported_message:
    'I read text messages, and spreadsheets (.xlsx or .csv) to import. Send “help” to see the commands.',
  import_running: 'Importing… the report will follow in this chat.',
  import_submitted: 'Import submitted. The report follows below.',
  export_sent: 'I sent the export to you in a direct message.',
};

export const zhCN: typeof en = {
  field_line: '**{{label}}**：{{value}}',
  truncated: '卡片内容过长，已按飞书的大小限制截断。',
  toast_done: '已完成',
  toast_form_errors: '请修正标红的字段。',
  toast_working: '正在处理…卡片稍后会更新。',
  toast_sent: '已发送',
  toast_expired: '这张卡片已过期，请重新发送命令。',
  unsupported_message:
    '目前只支持文字消息，以及用于导入的表格文件（.xlsx 或 .csv）。发送“帮助”查看可用命令。',
  import_running: '正在导入……结果稍后发在这个会话中。',
  import_submitted: '已提交导入，结果见下方。',
  export_sent: '导出文件已通过私聊发给你。',
};
