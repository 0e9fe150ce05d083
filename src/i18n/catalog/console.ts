/** Messages of the console surface, under the `console.` prefix. zhCN must have every key of en. */
export const en = {
  welcome: 'DealPulse console: you are @{{user}} ({{role}}) in the local workspace.',
  welcomeHint:
    'Try `/deal new Acme 50k`, `/pipeline`, `/deal help`, or `/help` for console commands. Ctrl-D quits.',
  prompt: '{{user}}> ',
  help: {
    title: 'Console commands',
    choice: '`1`, `2` … — press the numbered button of the last message',
    reply: '`/reply <msg> text` — reply in the thread of message <msg> (replies about a deal become notes)',
    whoami: '`/whoami` — who you are and your role',
    quit: '`/quit` — leave (or Ctrl-D)',
    mentions:
      'Mention people as @name; start with `--user <name>` to be someone else and `--locale zh-CN` for Chinese.',
    more: 'Deal and pipeline commands: `/deal help`.',
  },
  whoami: 'You are @{{user}} ({{role}}), language {{locale}}, workspace “{{workspace}}”.',
  channel: '#{{channel}} ▸ {{id}}',
  dm: '✉ @{{user}} ▸ {{id}}',
  thread: '↳ thread {{root}} ▸ {{id}}',
  updated: '✎ {{id}} updated',
  msgId: 'msg {{n}}',
  choices: 'Choose: {{list}}',
  image: '🖼 {{title}}: {{path}}',
  imageFailed: '🖼 {{title}} (could not write the PNG: {{reason}})',
  noChoices: 'There is no numbered button to press right now.',
  choiceRange: 'Choose a number from 1 to {{max}}.',
  file: {
    written: '📄 {{path}}',
    unreadable: 'Could not read “{{path}}”: {{reason}}',
  },
  reply: {
    usage: 'Usage: /reply <message id> <text>',
    unknownMessage: 'There is no message “{{id}}” in this session.',
    notAboutDeal: 'Replied in the thread (that message is not about a deal, so no note was saved).',
    saved: 'Saved as a note on {{code}}.',
    duplicate: 'That reply was already saved on {{code}}.',
  },
  form: {
    hintDefault:
      'Enter keeps the value in [brackets]; “-” clears it; an empty first answer, /cancel or Ctrl-C cancels.',
    required: 'required',
    optional: 'optional',
    pickOne: 'type a number or a name',
    pickMany: 'numbers separated by commas, e.g. 1,3',
    needed: '{{field}} is required.',
    badChoice: '“{{value}}” is not one of the options: type 1 to {{max}}.',
    cancelled: 'Cancelled: nothing was changed.',
    fix: 'Please fix:',
    fixField: '• {{field}}: {{error}}',
    noInput: 'This command needs answers to a form, but there is no input to read them from.',
    checked: 'checked',
  },
  exec: {
    failed: 'The command failed: {{cmd}}',
  },
  demo: {
    loaded:
      'Demo pipeline loaded: {{deals}} deals, {{reps}} people ({{manager}} is the manager). Try `/pipeline` and `/pipeline review`.',
    already: 'Demo pipeline already loaded ({{deals}} deals).',
    switchUser: 'Be a rep with `--user {{rep}}` or the manager with `--user {{manager}}`.',
  },
};

export const zhCN: typeof en = {
  welcome: 'DealPulse 控制台：你是 @{{user}}（{{role}}），位于本地工作区。',
  welcomeHint:
    '试试 `/deal new Acme 5万`、`/pipeline`、`/deal help`，或用 `/help` 查看控制台命令。Ctrl-D 退出。',
  prompt: '{{user}}> ',
  help: {
    title: '控制台命令',
    choice: '`1`、`2` …… — 点击上一条消息中对应编号的按钮',
    reply: '`/reply <消息编号> 内容` — 在该消息的话题中回复（关于商机的回复会保存为备注）',
    whoami: '`/whoami` — 查看你的身份和角色',
    quit: '`/quit` — 退出（或按 Ctrl-D）',
    mentions: '用 @名字 提及同事；启动时加 `--user <名字>` 切换身份，加 `--locale en` 切换为英文。',
    more: '商机和漏斗命令：`/deal help`。',
  },
  whoami: '你是 @{{user}}（{{role}}），语言 {{locale}}，工作区“{{workspace}}”。',
  channel: '#{{channel}} ▸ {{id}}',
  dm: '✉ @{{user}} ▸ {{id}}',
  thread: '↳ 话题 {{root}} ▸ {{id}}',
  updated: '✎ {{id}} 已更新',
  msgId: '消息 {{n}}',
  choices: '请选择：{{list}}',
  image: '🖼 {{title}}：{{path}}',
  imageFailed: '🖼 {{title}}（无法写入 PNG：{{reason}}）',
  noChoices: '现在没有可点击的编号按钮。',
  choiceRange: '请输入 1 到 {{max}} 之间的数字。',
  file: {
    written: '📄 {{path}}',
    unreadable: '无法读取“{{path}}”：{{reason}}',
  },
  reply: {
    usage: '用法：/reply <消息编号> <内容>',
    unknownMessage: '本次会话中没有消息“{{id}}”。',
    notAboutDeal: '已在话题中回复（该消息与商机无关，因此没有保存备注）。',
    saved: '已作为备注保存到 {{code}}。',
    duplicate: '这条回复已经保存到 {{code}}。',
  },
  form: {
    hintDefault: '直接回车保留 [方括号] 中的值；输入“-”清空；第一个问题留空、输入 /cancel 或按 Ctrl-C 取消。',
    required: '必填',
    optional: '选填',
    pickOne: '输入编号或名称',
    pickMany: '用逗号分隔的编号，例如 1,3',
    needed: '{{field}}为必填项。',
    badChoice: '“{{value}}”不是可选项：请输入 1 到 {{max}}。',
    cancelled: '已取消：没有做任何修改。',
    fix: '请修改：',
    fixField: '• {{field}}：{{error}}',
    noInput: '这个命令需要填写表单，但没有可读取的输入。',
    checked: '已勾选',
  },
  exec: {
    failed: '命令执行失败：{{cmd}}',
  },
  demo: {
    loaded:
      '演示数据已加载：{{deals}} 个商机，{{reps}} 位成员（经理是 {{manager}}）。试试 `/pipeline` 和 `/pipeline review`。',
    already: '演示数据已经加载过（{{deals}} 个商机）。',
    switchUser: '用 `--user {{rep}}` 以销售身份、用 `--user {{manager}}` 以经理身份体验。',
  },
};
