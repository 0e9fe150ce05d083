/**
 * Demo content (people, companies, deal names, next steps, notes) in both
 * languages. This is seed data typed "by users", not interface text.
 */
import type { Locale } from '../domain/types.js';

export interface DemoPerson {
  userId: string;
  displayName: string;
  role: 'manager' | 'rep';
  /** Added to each stage's conversion: strong and weak sellers. */
  skill: number;
  /** Relative share of new deals. */
  share: number;
}

export interface DemoContent {
  people: DemoPerson[];
  companies: string[];
  products: string[];
  nextSteps: string[];
  notes: string[];
  lossDetails: Record<string, string[]>;
  bant: { budget: string[]; authority: string[]; need: string[]; timeline: string[] };
}

const en: DemoContent = {
  people: [
    { userId: 'maria', displayName: 'Maria Lopez', role: 'manager', skill: 0.04, share: 0.6 },
    { userId: 'alice', displayName: 'Alice Kim', role: 'rep', skill: 0.06, share: 1.1 },
    { userId: 'ben', displayName: 'Ben Carter', role: 'rep', skill: 0.0, share: 1.0 },
    { userId: 'chen', displayName: 'Chen Wei', role: 'rep', skill: 0.02, share: 1.0 },
    { userId: 'diego', displayName: 'Diego Ramos', role: 'rep', skill: -0.03, share: 1.0 },
    { userId: 'emma', displayName: 'Emma Novak', role: 'rep', skill: -0.07, share: 0.9 },
  ],
  companies: [
    'Northwind Traders',
    'Contoso Retail',
    'Globex Logistics',
    'Initech',
    'Umbrella Health',
    'Stark Industrial',
    'Wayne Foods',
    'Acme Robotics',
    'Hooli Cloud',
    'Vandelay Imports',
    'Soylent Labs',
    'Cyberdyne Systems',
    'Tyrell Biotech',
    'Wonka Confectionery',
    'Gringotts Finance',
    'Oceanic Air',
    'Massive Dynamic',
    'Pied Piper',
    'Aperture Science',
    'Blue Sun Energy',
    'Monarch Insurance',
    'Prestige Worldwide',
    'Dunder Paper',
    'Sterling Cooper',
    'Bluth Properties',
    'Genco Shipping',
    'Duff Beverages',
    'Virtucon',
    'Nakatomi Trading',
    'Rekall Travel',
    'Oscorp Materials',
    'Krusty Foods',
    'Planet Express',
    'Gekko Partners',
    'Wernham Hogg',
    'Ollivander Retail',
    'Hanso Research',
    'Yoyodyne Aero',
    'Zorg Manufacturing',
    'Omni Consumer',
    'LexCorp Energy',
    'Abstergo Media',
    'Cogswell Cogs',
    'Spacely Sprockets',
    'Mooby Restaurants',
    'Strickland Propane',
    'Big Kahuna Foods',
    'Los Pollos Supply',
  ],
  products: [
    'CRM rollout',
    'Annual licence',
    'Pilot',
    'Analytics add-on',
    'Support renewal',
    'Team expansion',
    'Data migration',
    'Enterprise plan',
    'Onboarding package',
    'API integration',
  ],
  nextSteps: [
    'Call the CFO about budget',
    'Send the case study',
    'Book a demo with the ops team',
    'Follow up on the security review',
    'Send revised pricing',
    'Schedule the technical deep-dive',
    'Confirm the decision timeline',
    'Share the draft contract',
    'Meet procurement',
    'Get legal feedback on terms',
  ],
  notes: [
    'They compared us with two other vendors; price is the main concern.',
    'Champion is enthusiastic, but the VP has not been involved yet.',
    'Security questionnaire received, due Friday.',
    'Budget is approved for this quarter.',
    'They asked for a discount of 15%.',
    'Procurement wants three references.',
  ],
  lossDetails: {
    price: ['Quote was 30% above budget', 'Could not match the competitor’s discount'],
    competitor: ['Went with HubSpot', 'Chose Salesforce for the ecosystem', 'Incumbent vendor renewed'],
    no_decision: ['Champion left the company', 'No reply since the proposal'],
    timing: ['Frozen until next fiscal year'],
    no_budget: ['Budget cut after reorganisation'],
    product_fit: ['Needed on-premise hosting'],
  },
  bant: {
    budget: ['Approved: 60k this year', 'Budget from the ops line', 'Needs CFO sign-off above 40k'],
    authority: ['VP Sales decides', 'COO signs, IT advises', 'Head of Operations'],
    need: ['Pipeline reporting is manual', 'Too many stalled deals', 'Replace spreadsheets'],
    timeline: ['Live this quarter', 'Before the next fiscal year', 'Within 60 days'],
  },
};

const zhCN: DemoContent = {
  people: [
    { userId: 'wangmin', displayName: '王敏', role: 'manager', skill: 0.04, share: 0.6 },
    { userId: 'lina', displayName: '李娜', role: 'rep', skill: 0.06, share: 1.1 },
    { userId: 'zhangwei', displayName: '张伟', role: 'rep', skill: 0.0, share: 1.0 },
    { userId: 'chenjie', displayName: '陈杰', role: 'rep', skill: 0.02, share: 1.0 },
    { userId: 'liuyang', displayName: '刘洋', role: 'rep', skill: -0.03, share: 1.0 },
    { userId: 'zhaojing', displayName: '赵静', role: 'rep', skill: -0.07, share: 0.9 },
  ],
  companies: [
    '华信科技',
    '东方物流',
    '长江医疗',
    '北辰制造',
    '天元食品',
    '星河云计算',
    '金桥金融',
    '蓝海零售',
    '远航航空',
    '瑞丰保险',
    '中联能源',
    '新华传媒',
    '恒通汽车',
    '博远教育',
    '鼎盛地产',
    '青云软件',
    '海纳电子',
    '万象商贸',
    '启明生物',
    '嘉禾农业',
    '正泰电气',
    '宏图建筑',
    '锦程旅行',
    '合众化工',
    '卓越咨询',
    '联创通信',
    '和信医药',
    '明德物业',
    '天和纺织',
    '安泰安防',
    '百川水务',
    '光华印刷',
    '同舟船务',
    '君悦酒店',
    '盛世传媒',
    '翔宇机械',
    '云帆数据',
    '康宁健康',
    '德润投资',
    '银河游戏',
    '森林家居',
    '凯旋体育',
    '华美服饰',
    '通达快递',
    '齐力重工',
    '东盛矿业',
    '晨光文具',
    '绿源环保',
  ],
  products: [
    'CRM 部署',
    '年度许可',
    '试点项目',
    '数据分析模块',
    '维保续约',
    '团队扩容',
    '数据迁移',
    '企业版',
    '实施服务包',
    'API 集成',
  ],
  nextSteps: [
    '与财务总监沟通预算',
    '发送客户案例',
    '约运营团队演示',
    '跟进安全评估',
    '发送调整后的报价',
    '安排技术交流',
    '确认决策时间表',
    '发送合同草稿',
    '拜访采购部',
    '征求法务对条款的意见',
  ],
  notes: [
    '客户同时在比较另外两家供应商，主要顾虑是价格。',
    '对接人很积极，但副总裁还没有参与。',
    '收到安全问卷，周五前回复。',
    '本季度预算已批准。',
    '客户要求 15% 的折扣。',
    '采购部要求提供三个客户推荐。',
  ],
  lossDetails: {
    price: ['报价比预算高 30%', '无法匹配竞争对手的折扣'],
    competitor: ['选择了纷享销客', '选择了销售易', '原供应商续约'],
    no_decision: ['对接人离职', '发送方案后一直没有回复'],
    timing: ['冻结到下个财年'],
    no_budget: ['组织调整后预算被削减'],
    product_fit: ['需要本地化部署'],
  },
  bant: {
    budget: ['今年已批 40 万', '从运营预算中列支', '超过 30 万需财务总监签字'],
    authority: ['销售副总裁拍板', '首席运营官签字，IT 参与评估', '运营负责人'],
    need: ['漏斗报表靠手工', '停滞商机太多', '替换 Excel 表格'],
    timeline: ['本季度上线', '下个财年前', '60 天内'],
  },
};

export function demoContent(locale: Locale): DemoContent {
  return locale === 'zh-CN' ? zhCN : en;
}
