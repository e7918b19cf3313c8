//! `kehu demo`: a realistic Chinese demo dataset of any size, for trying
//! Kehu and for benchmarks (DESIGN.md, "Budgets").
//!
//! What it makes:
//! - five sales teams (华东销售部, 华南销售部, 华北销售部, 华中销售部, 西部销售部), each led by
//!   a sales manager (`mgr_east` …), and `reps` sales reps (`rep01` …) spread over them, all
//!   with the password [`DEMO_PASSWORD`]; existing users and teams of those names are reused;
//! - customers with company names built as region/city prefix + 字号 + industry word + legal
//!   form (苏州恒达精密模具有限公司, 佛山市顺德区美信电器有限公司), valid unified social
//!   credit codes, the default policy's types, stages, regions, industries, scales and
//!   sources, addresses, legal representatives (common surnames, the heteronym surnames 曾,
//!   单, 解 … among them), registered capital, 1–3 contacts with mobile numbers, 0–5
//!   interactions, and an owner from the team that covers the customer's region.
//!
//! The content is a pure function of the seed and of each customer's position (the number
//! of customers already in the database plus its index), so a seed always produces the
//! same customers; dates are relative to the day of the run, and customer codes are
//! numbered in the period of the run.
//!
//! Speed: customers do not go through the per-customer service path. A generator thread
//! builds the rows (names, pinyin terms, completeness) while the database writes the
//! previous batch; each batch of [`DemoOptions::batch`] customers is one transaction of
//! multi-row inserts sized to the engine's bind-parameter limit, takes its customer codes
//! from one numbering reservation, and appends one summarising audit entry
//! (`demo_import` on `customer_batch`).
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, PaginatorTrait, QueryResult,
    Statement, Value,
};
use serde::Serialize;

use crate::customers::entity::{contacts, customers};
use crate::customers::model;
use crate::platform::audit::{self, AuditActor, AuditEntry};
use crate::platform::auth::{self, NewUser, TeamInput, UserPatch};
use crate::platform::calendar::WorkCalendar;
use crate::platform::db;
use crate::platform::error::{Error, Result};
use crate::platform::numbering;
use crate::platform::state::AppState;
use crate::policy::Policy;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "orchid-demo-58-lantern";

/// Bind parameters one statement may carry: SQLite's default
/// `SQLITE_MAX_VARIABLE_NUMBER` and PostgreSQL's protocol limit.
const SQLITE_MAX_PARAMS: usize = 32_766;
const POSTGRES_MAX_PARAMS: usize = 65_535;
const SQLITE_BULK_CACHE_KIB: u32 = 262_144;

/// Credit codes of customers created outside the demo import (e.g. by the
/// benchmark through the API) use positions from here on, so they never
/// collide with imported ones.
pub const EXTERNAL_CODE_BASE: u64 = 100_000_000_000;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Customers to add.
    pub customers: u64,
    /// Sales reps to have (created when missing).
    pub reps: u32,
    pub seed: u64,
    /// Customers per transaction.
    pub batch: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            customers: 1000,
            reps: 20,
            seed: 1,
            batch: 5000,
        }
    }
}

/// What a run made.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub customers: u64,
    pub contacts: u64,
    pub interactions: u64,
    pub search_terms: u64,
    pub first_code: Option<String>,
    pub last_code: Option<String>,
    pub teams: Vec<String>,
    pub managers: Vec<String>,
    pub reps: Vec<String>,
    pub password: &'static str,
    pub seconds: f64,
}

impl DemoReport {
    pub fn customers_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.customers as f64 / self.seconds
        } else {
            0.0
        }
    }
}

// ------------------------------------------------------------------ random

/// SplitMix64: small, fast, and the same on every platform and version, so
/// a seed means the same data forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of item `index` under `seed`, independent of every other item's.
    pub fn for_item(seed: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % n64).unwrap_or(0)
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
        lo + i64::try_from(self.next_u64() % span).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An item of `(item, weight)` pairs, by weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.next_u64() % total.max(1);
        for (item, w) in items {
            let w = u64::from(*w);
            if x < w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

// ------------------------------------------------------------------ vocabulary

/// Cities: name, region code of the default policy, districts.
const CITIES: &[(&str, &str, &[&str])] = &[
    (
        "上海",
        "east",
        &["浦东新区", "闵行区", "嘉定区", "松江区", "青浦区", "宝山区"],
    ),
    (
        "苏州",
        "east",
        &["吴中区", "相城区", "吴江区", "虎丘区", "姑苏区"],
    ),
    ("无锡", "east", &["惠山区", "新吴区", "锡山区", "滨湖区"]),
    ("常州", "east", &["武进区", "新北区", "金坛区"]),
    ("南京", "east", &["江宁区", "浦口区", "六合区", "栖霞区"]),
    ("南通", "east", &["崇川区", "通州区", "海门区"]),
    ("扬州", "east", &["邗江区", "江都区"]),
    ("杭州", "east", &["萧山区", "余杭区", "滨江区", "富阳区"]),
    ("宁波", "east", &["北仑区", "鄞州区", "镇海区", "奉化区"]),
    ("温州", "east", &["瓯海区", "龙湾区", "鹿城区"]),
    ("台州", "east", &["黄岩区", "路桥区", "椒江区"]),
    ("嘉兴", "east", &["南湖区", "秀洲区"]),
    ("绍兴", "east", &["柯桥区", "上虞区", "越城区"]),
    ("金华", "east", &["婺城区", "金东区"]),
    ("湖州", "east", &["吴兴区", "南浔区"]),
    ("合肥", "east", &["蜀山区", "包河区", "庐阳区"]),
    ("芜湖", "east", &["鸠江区", "弋江区"]),
    ("济南", "east", &["历城区", "槐荫区", "章丘区"]),
    ("青岛", "east", &["黄岛区", "城阳区", "即墨区"]),
    ("烟台", "east", &["福山区", "莱山区"]),
    ("潍坊", "east", &["奎文区", "寒亭区"]),
    ("淄博", "east", &["张店区", "临淄区"]),
    ("福州", "east", &["仓山区", "鼓楼区", "长乐区"]),
    ("厦门", "east", &["集美区", "同安区", "海沧区"]),
    ("泉州", "east", &["丰泽区", "洛江区"]),
    ("南昌", "east", &["青山湖区", "西湖区"]),
    (
        "广州",
        "south",
        &["番禺区", "白云区", "花都区", "黄埔区", "增城区"],
    ),
    (
        "深圳",
        "south",
        &["宝安区", "龙岗区", "南山区", "龙华区", "光明区"],
    ),
    ("佛山", "south", &["顺德区", "南海区", "禅城区", "三水区"]),
    ("东莞", "south", &[]),
    ("中山", "south", &[]),
    ("珠海", "south", &["香洲区", "斗门区", "金湾区"]),
    ("惠州", "south", &["惠阳区", "惠城区"]),
    ("江门", "south", &["新会区", "蓬江区"]),
    ("汕头", "south", &["澄海区", "潮阳区"]),
    ("肇庆", "south", &["端州区", "高要区"]),
    ("南宁", "south", &["西乡塘区", "青秀区"]),
    ("柳州", "south", &["柳南区", "鱼峰区"]),
    ("海口", "south", &["龙华区", "秀英区"]),
    (
        "北京",
        "north",
        &["朝阳区", "海淀区", "大兴区", "顺义区", "通州区", "昌平区"],
    ),
    ("天津", "north", &["滨海新区", "西青区", "武清区", "北辰区"]),
    ("石家庄", "north", &["长安区", "裕华区", "藁城区"]),
    ("保定", "north", &["竞秀区", "莲池区"]),
    ("唐山", "north", &["路北区", "丰润区"]),
    ("廊坊", "north", &["广阳区", "安次区"]),
    ("沧州", "north", &["运河区", "新华区"]),
    ("太原", "north", &["小店区", "万柏林区"]),
    ("呼和浩特", "north", &["赛罕区", "新城区"]),
    ("沈阳", "northeast", &["铁西区", "浑南区", "于洪区"]),
    ("大连", "northeast", &["甘井子区", "金州区", "旅顺口区"]),
    ("长春", "northeast", &["朝阳区", "绿园区"]),
    ("哈尔滨", "northeast", &["南岗区", "香坊区", "道里区"]),
    (
        "武汉",
        "central",
        &["东西湖区", "江夏区", "汉阳区", "蔡甸区"],
    ),
    ("长沙", "central", &["雨花区", "望城区", "岳麓区"]),
    ("株洲", "central", &["天元区", "芦淞区"]),
    ("郑州", "central", &["金水区", "中原区", "管城回族区"]),
    ("洛阳", "central", &["涧西区", "洛龙区"]),
    ("宜昌", "central", &["西陵区", "伍家岗区"]),
    ("襄阳", "central", &["樊城区", "襄州区"]),
    (
        "重庆",
        "southwest",
        &["渝北区", "九龙坡区", "江津区", "沙坪坝区"],
    ),
    (
        "成都",
        "southwest",
        &["武侯区", "双流区", "郫都区", "龙泉驿区"],
    ),
    ("绵阳", "southwest", &["涪城区", "游仙区"]),
    ("昆明", "southwest", &["官渡区", "盘龙区"]),
    ("贵阳", "southwest", &["观山湖区", "南明区"]),
    (
        "西安",
        "northwest",
        &["雁塔区", "未央区", "长安区", "高陵区"],
    ),
    ("兰州", "northwest", &["城关区", "七里河区"]),
    ("银川", "northwest", &["兴庆区", "金凤区"]),
    ("乌鲁木齐", "northwest", &["天山区", "新市区"]),
];

/// Characters of trade names (字号); two of them make one, e.g. 恒达, 美信.
/// A few heteronyms (长, 乐, 重, 行) exercise the pinyin variants.
const TRADE_CHARS: &[char] = &[
    '恒', '达', '美', '信', '华', '鑫', '盛', '泰', '宏', '源', '隆', '丰', '博', '瑞', '嘉', '利',
    '通', '德', '兴', '凯', '晟', '昌', '祥', '中', '金', '永', '宇', '海', '天', '新', '汇', '远',
    '康', '安', '顺', '诚', '和', '正', '光', '明', '立', '力', '欣', '亿', '佳', '荣', '发', '东',
    '方', '创', '科', '锦', '辉', '腾', '飞', '跃', '高', '宝', '星', '恩', '豪', '威', '强', '益',
    '万', '合', '众', '长', '乐', '重', '行', '精', '诺', '奥', '联', '捷', '峰', '航', '弘', '振',
    '骏', '禾', '润', '裕', '卓', '越', '久', '富', '晶', '冠',
];

/// Industry words of company names with the default policy's industry code
/// and a business scope.
const INDUSTRY_WORDS: &[(&str, &str, &str)] = &[
    (
        "精密模具",
        "machinery",
        "精密模具、冲压件、注塑件的设计、制造与销售",
    ),
    ("模具", "machinery", "模具及模具配件的制造、加工与销售"),
    ("机械", "machinery", "通用机械设备及配件的制造、销售与维修"),
    ("精密机械", "machinery", "精密机械零部件加工、销售"),
    (
        "数控设备",
        "machinery",
        "数控机床及自动化设备的研发、生产与销售",
    ),
    ("液压设备", "machinery", "液压元件、液压系统的生产与销售"),
    ("五金制品", "machinery", "五金制品、紧固件的生产与销售"),
    ("自动化设备", "machinery", "工业自动化设备、机器人系统集成"),
    ("轴承", "machinery", "轴承及传动部件的制造与销售"),
    ("阀门", "machinery", "工业阀门、管件的制造与销售"),
    (
        "电器",
        "electronics",
        "家用电器、电器配件的研发、制造与销售",
    ),
    ("电子", "electronics", "电子元器件、电子产品的生产与销售"),
    ("电子科技", "electronics", "电子产品技术开发、生产与销售"),
    ("光电", "electronics", "光电器件、LED 照明产品的研发与销售"),
    ("电气", "electronics", "输配电及控制设备的制造与销售"),
    ("照明电器", "electronics", "照明灯具、电光源的生产与销售"),
    (
        "智能科技",
        "electronics",
        "智能设备、物联网产品的研发与销售",
    ),
    ("线缆", "electronics", "电线电缆的生产与销售"),
    ("汽车零部件", "automotive", "汽车零部件及配件的制造与销售"),
    ("汽车配件", "automotive", "汽车配件、摩托车配件的生产与销售"),
    ("车业", "automotive", "电动车、自行车及零配件的制造与销售"),
    ("汽配", "automotive", "汽车零配件批发与零售"),
    (
        "化工",
        "chemicals",
        "化工产品（不含危险化学品）的生产与销售",
    ),
    ("塑胶", "chemicals", "塑胶制品、塑料原料的生产与销售"),
    ("新材料", "chemicals", "新型材料的研发、生产与销售"),
    (
        "涂料",
        "chemicals",
        "涂料、油漆（不含危险化学品）的生产与销售",
    ),
    ("橡胶制品", "chemicals", "橡胶制品、密封件的生产与销售"),
    ("精细化工", "chemicals", "精细化学品的研发与销售"),
    ("食品", "food", "食品生产、食品经营"),
    ("饮料", "food", "饮料生产与销售"),
    ("豆制品", "food", "豆制品加工与销售"),
    ("调味品", "food", "调味品生产与销售"),
    ("粮油", "food", "粮油收购、加工与销售"),
    ("建材", "construction", "建筑材料、装饰材料的销售"),
    ("钢结构", "construction", "钢结构工程的设计、制作与安装"),
    ("陶瓷", "construction", "建筑陶瓷、卫生陶瓷的生产与销售"),
    ("门窗", "construction", "铝合金门窗、幕墙的生产与安装"),
    ("装饰材料", "construction", "装饰材料的生产与销售"),
    (
        "能源",
        "energy",
        "能源技术开发，燃料油（不含危险化学品）销售",
    ),
    ("新能源", "energy", "新能源技术开发、储能设备销售"),
    ("燃气", "energy", "燃气经营、燃气设备销售"),
    ("电力设备", "energy", "电力设备的制造、安装与维修"),
    ("光伏", "energy", "光伏组件、太阳能设备的生产与销售"),
    ("石化销售", "energy", "成品油、润滑油的批发与零售"),
    ("医药", "pharma", "药品批发、医疗器械经营"),
    ("生物科技", "pharma", "生物技术开发、技术咨询"),
    ("医疗器械", "pharma", "医疗器械的生产与销售"),
    ("制药", "pharma", "药品生产与销售"),
    ("纺织", "textiles", "纺织品、针织品的生产与销售"),
    ("服饰", "textiles", "服装、服饰的设计、生产与销售"),
    ("印染", "textiles", "纺织品印染加工"),
    ("家纺", "textiles", "家用纺织品的生产与销售"),
    ("贸易", "trade", "货物进出口、技术进出口，国内贸易"),
    ("商贸", "trade", "日用百货、五金交电的批发与零售"),
    ("进出口", "trade", "货物及技术进出口业务"),
    (
        "供应链管理",
        "trade",
        "供应链管理服务、仓储服务（不含危险品）",
    ),
    ("物资", "trade", "金属材料、建筑材料的销售"),
    ("包装", "other", "包装材料、纸箱的生产与销售"),
    ("印刷", "other", "包装装潢印刷品印刷"),
    ("纸业", "other", "纸制品的生产与销售"),
    ("家具", "other", "家具的设计、生产与销售"),
];

const LEGAL_FORMS: &[(&str, u32)] = &[
    ("有限公司", 62),
    ("有限责任公司", 10),
    ("股份有限公司", 12),
    ("集团有限公司", 4),
    ("厂", 6),
    ("实业有限公司", 6),
];

/// Common surnames, the heteronym surnames (曾 zeng, 单 shan, 解 xie, 查 zha,
/// 区 ou, 仇 qiu, 朴 piao) and a compound one among them.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 70),
    ("李", 70),
    ("张", 65),
    ("刘", 55),
    ("陈", 50),
    ("杨", 30),
    ("黄", 25),
    ("赵", 25),
    ("吴", 20),
    ("周", 20),
    ("徐", 16),
    ("孙", 15),
    ("马", 15),
    ("朱", 14),
    ("胡", 13),
    ("郭", 12),
    ("何", 11),
    ("林", 11),
    ("罗", 10),
    ("高", 10),
    ("郑", 9),
    ("梁", 9),
    ("谢", 8),
    ("宋", 8),
    ("唐", 8),
    ("许", 7),
    ("韩", 7),
    ("冯", 7),
    ("邓", 7),
    ("曹", 6),
    ("彭", 6),
    ("曾", 6),
    ("田", 5),
    ("董", 5),
    ("潘", 5),
    ("袁", 5),
    ("蔡", 5),
    ("蒋", 5),
    ("余", 5),
    ("于", 5),
    ("杜", 4),
    ("叶", 4),
    ("程", 4),
    ("魏", 4),
    ("苏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("沈", 4),
    ("姚", 3),
    ("卢", 3),
    ("钟", 3),
    ("姜", 3),
    ("崔", 3),
    ("谭", 3),
    ("陆", 3),
    ("范", 3),
    ("汪", 3),
    ("廖", 3),
    ("石", 3),
    ("金", 3),
    ("贾", 3),
    ("夏", 2),
    ("方", 2),
    ("邹", 2),
    ("熊", 2),
    ("白", 2),
    ("孟", 2),
    ("秦", 2),
    ("邱", 2),
    ("侯", 2),
    ("江", 2),
    ("薛", 2),
    ("雷", 2),
    ("龙", 2),
    ("史", 2),
    ("陶", 2),
    ("贺", 2),
    ("顾", 2),
    ("单", 2),
    ("解", 2),
    ("查", 1),
    ("区", 1),
    ("仇", 1),
    ("朴", 1),
    ("欧阳", 1),
];

const GIVEN_CHARS: &[char] = &[
    '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明',
    '超', '秀', '英', '霞', '平', '刚', '桂', '华', '建', '国', '志', '海', '燕', '丹', '玉', '兰',
    '红', '波', '辉', '鹏', '飞', '晨', '宇', '浩', '婷', '雪', '慧', '琳', '斌', '峰', '亮', '俊',
    '文', '晓', '春', '立', '新', '东', '永', '彬', '倩', '颖', '佳', '欣', '凯', '涵', '博', '成',
];

const ROADS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "工业园路",
    "科技大道",
    "创业路",
    "长江路",
    "黄河路",
    "滨江大道",
    "新华路",
    "开发区大道",
    "兴业路",
    "金桥路",
    "环城东路",
    "高新路",
    "发展大道",
    "园区二路",
    "机场路",
    "湖滨路",
];

const TITLES: &[(&str, &str, u32)] = &[
    ("总经理", "decision_maker", 14),
    ("董事长", "decision_maker", 5),
    ("副总经理", "decision_maker", 6),
    ("采购经理", "purchasing", 18),
    ("采购主管", "purchasing", 10),
    ("采购员", "purchasing", 8),
    ("技术总监", "technical", 6),
    ("工程师", "technical", 8),
    ("质量经理", "technical", 5),
    ("财务经理", "finance", 8),
    ("会计", "finance", 4),
    ("厂长", "user", 5),
    ("生产主管", "user", 4),
    ("办公室主任", "other", 3),
];

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "191", "198", "199",
];

const TAGS: &[&str] = &[
    "重点客户",
    "老客户",
    "出口",
    "年度框架",
    "价格敏感",
    "账期客户",
    "样品阶段",
    "战略合作",
];

const NOTES: &[&str] = &[
    "客户对交期要求严格，下单前需确认产能。",
    "年底集中采购，十月前须完成报价。",
    "付款及时，可适当放宽账期。",
    "对价格敏感，竞争对手报价较低。",
    "需提供材质证明及第三方检测报告。",
    "新项目预计明年量产。",
];

/// Summaries per interaction kind code, and next steps.
const SUMMARIES: &[(&str, &[&str])] = &[
    (
        "visit",
        &[
            "上门拜访，了解新项目需求，客户计划下季度扩大采购量。",
            "拜访采购部，沟通年度框架协议条款。",
            "陪同技术人员现场解决产品装配问题，客户表示满意。",
            "拜访总经理，介绍新产品线并赠送样品。",
        ],
    ),
    (
        "call",
        &[
            "电话沟通报价，客户要求再优惠2%。",
            "电话确认订单交期，客户同意分两批发货。",
            "电话回访产品使用情况，反馈良好。",
            "电话催收上月货款，客户承诺本周内付款。",
        ],
    ),
    (
        "mail",
        &[
            "发送正式报价单及产品目录。",
            "邮件发送质量检测报告和材质证明。",
            "邮件确认合同条款修改意见。",
        ],
    ),
    (
        "meeting",
        &[
            "参加客户年度供应商大会，获评优秀供应商。",
            "双方技术交流会，讨论新品开发方案。",
            "季度业务回顾会议，确定下季度采购计划。",
        ],
    ),
    (
        "wechat",
        &[
            "微信沟通交期，客户确认订单。",
            "微信发送样品照片，客户初步认可。",
            "微信通知价格调整，客户表示理解。",
        ],
    ),
];

const NEXT_STEPS: &[&str] = &[
    "发送正式报价",
    "安排技术交流",
    "跟进样品测试结果",
    "催收货款",
    "邀请客户来厂参观",
    "确认年度框架协议",
    "安排送样",
];

/// Registered capital in 万元.
const CAPITAL_WAN: &[(i64, u32)] = &[
    (50, 10),
    (100, 18),
    (200, 14),
    (300, 10),
    (500, 16),
    (800, 6),
    (1000, 12),
    (2000, 6),
    (3000, 4),
    (5000, 3),
    (10000, 1),
];

const TYPE_WEIGHTS: &[(&str, u32)] = &[
    ("dealer", 30),
    ("retailer", 10),
    ("end_consumer", 5),
    ("direct_manufacturer", 30),
    ("distributor", 20),
    ("special", 2),
    ("other", 3),
];
const STAGE_WEIGHTS: &[(&str, u32)] = &[
    ("potential", 15),
    ("new", 10),
    ("active", 55),
    ("dormant", 12),
    ("lost", 8),
];
const SCALE_WEIGHTS: &[(&str, u32)] = &[("large", 10), ("medium", 35), ("small", 55)];
const SOURCE_WEIGHTS: &[(&str, u32)] = &[
    ("exhibition", 25),
    ("online", 20),
    ("referral", 25),
    ("cold_visit", 15),
    ("tender", 10),
    ("other", 5),
];

/// Sales teams: name, manager's username, regions covered.
const TEAMS: &[(&str, &str, &[&str])] = &[
    ("华东销售部", "mgr_east", &["east"]),
    ("华南销售部", "mgr_south", &["south"]),
    ("华北销售部", "mgr_north", &["north", "northeast"]),
    ("华中销售部", "mgr_central", &["central"]),
    (
        "西部销售部",
        "mgr_west",
        &["southwest", "northwest", "overseas"],
    ),
];

/// A Chinese person's name: surname and one or two given characters.
pub fn person_name(rng: &mut Rng) -> String {
    let mut s = (*rng.weighted(SURNAMES)).to_owned();
    s.push(*rng.pick(GIVEN_CHARS));
    if rng.chance(70) {
        s.push(*rng.pick(GIVEN_CHARS));
    }
    s
}

/// A trade name (字号) of two different characters.
fn trade_name(rng: &mut Rng) -> String {
    let a = *rng.pick(TRADE_CHARS);
    let mut b = *rng.pick(TRADE_CHARS);
    while b == a {
        b = *rng.pick(TRADE_CHARS);
    }
    let mut s = String::with_capacity(8);
    s.push(a);
    s.push(b);
    s
}

/// A company: its names and the codes they imply.
#[derive(Debug, Clone)]
pub struct CompanyName {
    pub full: String,
    pub short: String,
    /// City (without 市), for addresses.
    pub city: &'static str,
    pub district: Option<&'static str>,
    pub region: &'static str,
    pub industry: &'static str,
    pub scope: &'static str,
}

/// A realistic company name: 苏州恒达精密模具有限公司, 佛山市顺德区美信电器有限公司.
pub fn company_name(rng: &mut Rng) -> CompanyName {
    let (city, region, districts) = *rng.pick(CITIES);
    let district = (!districts.is_empty() && rng.chance(35)).then(|| *rng.pick(districts));
    let mut full = String::with_capacity(48);
    match district {
        Some(d) => {
            full.push_str(city);
            full.push('市');
            full.push_str(d);
        }
        None if rng.chance(30) => {
            full.push_str(city);
            full.push('市');
        }
        None => full.push_str(city),
    }
    let trade = trade_name(rng);
    let (word, industry, scope) = *rng.pick(INDUSTRY_WORDS);
    let form = *rng.weighted(LEGAL_FORMS);
    full.push_str(&trade);
    full.push_str(word);
    full.push_str(form);
    let short: String = trade.chars().chain(word.chars().take(2)).collect();
    CompanyName {
        full,
        short,
        city,
        district,
        region,
        industry,
        scope,
    }
}

/// A valid unified social credit code (GB 32100-2015) for the customer at
/// `position` under `seed`: distinct positions get distinct codes (the
/// organisation part is a bijection of the position modulo 31^8).
pub fn credit_code(seed: u64, position: u64) -> String {
    const M: u128 = 852_891_037_441; // 31^8
    const A: u128 = 387_420_489; // 3^18, coprime to 31
    let mut v = (u128::from(position) * A + u128::from(seed) % M) % M;
    let mut bytes = [0u8; 16];
    bytes[0] = u8::try_from(Rng::for_item(seed ^ 0xC0DE, position).next_u64() % 251).unwrap_or(0);
    for b in bytes.iter_mut().skip(1).take(8) {
        *b = u8::try_from(v % 31).unwrap_or(0);
        v /= 31;
    }
    model::generate_credit_code(&bytes)
}

/// A valid mobile number (canonical: 11 digits).
pub fn mobile(rng: &mut Rng) -> String {
    let mut s = (*rng.pick(MOBILE_PREFIXES)).to_owned();
    for _ in 0..8 {
        s.push(char::from(b'0' + u8::try_from(rng.below(10)).unwrap_or(0)));
    }
    s
}

// ------------------------------------------------------------------ staff

/// The owners to spread customers over.
#[derive(Debug, Clone, Default)]
struct Staff {
    /// Region code → reps of the team covering it.
    by_region: HashMap<String, Vec<i64>>,
    all: Vec<i64>,
    teams: Vec<String>,
    managers: Vec<String>,
    reps: Vec<String>,
}

async fn ensure_user(
    state: &AppState,
    actor: &AuditActor,
    username: &str,
    display_name: String,
    role: &str,
    team_id: Option<i64>,
) -> Result<crate::platform::schema::users::Model> {
    if let Some(u) = auth::store::user_by_name(&state.db, username).await? {
        return Ok(u);
    }
    auth::create_user(
        state,
        actor,
        NewUser {
            username: username.to_owned(),
            display_name,
            password: Some(DEMO_PASSWORD.to_owned()),
            roles: vec![role.to_owned()],
            team_id,
            language: None,
        },
    )
    .await?;
    auth::store::user_by_name(&state.db, username)
        .await?
        .ok_or(Error::NotFound)
}

/// Creates the demo teams, managers and reps that do not exist yet.
async fn ensure_staff(state: &AppState, actor: &AuditActor, reps: u32, seed: u64) -> Result<Staff> {
    let mut staff = Staff::default();
    let mut rng = Rng::for_item(seed, u64::MAX);
    let mut team_ids = Vec::new();
    for &(team_name, manager, _) in TEAMS {
        let mgr = ensure_user(
            state,
            actor,
            manager,
            person_name(&mut rng),
            "sales_manager",
            None,
        )
        .await?;
        let existing = auth::store::all_teams(&state.db)
            .await?
            .into_iter()
            .find(|t| t.name == team_name);
        let team_id = match existing {
            Some(t) => t.id,
            None => {
                auth::create_team(
                    state,
                    actor,
                    TeamInput {
                        name: team_name.to_owned(),
                        manager_id: Some(mgr.id),
                        version: None,
                    },
                )
                .await?
                .id
            }
        };
        if mgr.team_id.is_none() {
            auth::update_user(
                state,
                actor,
                mgr.id,
                UserPatch {
                    version: mgr.version,
                    team_id: Some(Some(team_id)),
                    ..Default::default()
                },
            )
            .await?;
        }
        team_ids.push(team_id);
        staff.teams.push(team_name.to_owned());
        staff.managers.push(manager.to_owned());
    }
    let width = reps.max(10).to_string().len();
    for r in 1..=reps {
        let username = format!("rep{r:0width$}");
        let idx = usize::try_from(r - 1).unwrap_or(0) % TEAMS.len();
        let user = ensure_user(
            state,
            actor,
            &username,
            person_name(&mut rng),
            "sales_rep",
            Some(team_ids[idx]),
        )
        .await?;
        staff.all.push(user.id);
        staff.reps.push(username);
        // A rep moved to another team owns customers of that team's regions.
        let team = team_ids
            .iter()
            .position(|t| Some(*t) == user.team_id)
            .unwrap_or(idx);
        for region in TEAMS[team].2 {
            staff
                .by_region
                .entry((*region).to_owned())
                .or_default()
                .push(user.id);
        }
    }
    if staff.all.is_empty() {
        return Err(crate::platform::error::FieldError::new("reps", "error.required").into());
    }
    Ok(staff)
}

// ------------------------------------------------------------------ generation

struct GenContact {
    name: String,
    title: Option<String>,
    phones: String,
    email: Option<String>,
    wechat: Option<String>,
    birthday: Option<NaiveDate>,
    decision_role: Option<String>,
}

struct GenInteraction {
    kind: String,
    occurred_on: NaiveDate,
    participants: Option<String>,
    summary: String,
    next_step: Option<String>,
    next_step_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
}

struct GenCustomer {
    c: customers::Model,
    contacts: Vec<GenContact>,
    interactions: Vec<GenInteraction>,
    terms: Vec<String>,
}

/// Everything the generator thread needs; owned, so it can move there.
struct Generator {
    seed: u64,
    now: DateTime<Utc>,
    today: NaiveDate,
    policy: Policy,
    policy_version: i32,
    calendar: WorkCalendar,
    staff: Staff,
    types: Vec<(String, u32)>,
    stages: Vec<(String, u32)>,
    scales: Vec<(String, u32)>,
    sources: Vec<(String, u32)>,
    industries: Vec<String>,
    regions: Vec<String>,
    decision_roles: Vec<String>,
    kinds: Vec<String>,
}

/// The policy's codes of a list, weighted where the default policy's code
/// has a weight (other codes get weight 1).
fn weighted_codes(policy: &Policy, list: &str, weights: &[(&str, u32)]) -> Vec<(String, u32)> {
    policy
        .customers
        .choices(list)
        .iter()
        .map(|c| {
            let w = weights
                .iter()
                .find(|(code, _)| *code == c.code)
                .map_or(1, |(_, w)| *w);
            (c.code.clone(), w)
        })
        .collect()
}

fn codes(policy: &Policy, list: &str) -> Vec<String> {
    policy
        .customers
        .choices(list)
        .iter()
        .map(|c| c.code.clone())
        .collect()
}

impl Generator {
    fn new(
        policy: Policy,
        policy_version: i64,
        staff: Staff,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Self {
        let today = now.with_timezone(&policy.timezone()).date_naive();
        Generator {
            seed,
            now,
            today,
            calendar: policy.calendar(),
            types: weighted_codes(&policy, "types", TYPE_WEIGHTS),
            stages: weighted_codes(&policy, "stages", STAGE_WEIGHTS),
            scales: weighted_codes(&policy, "scales", SCALE_WEIGHTS),
            sources: weighted_codes(&policy, "sources", SOURCE_WEIGHTS),
            industries: codes(&policy, "industries"),
            regions: codes(&policy, "regions"),
            decision_roles: codes(&policy, "decision_roles"),
            kinds: codes(&policy, "interaction_kinds"),
            policy_version: i32::try_from(policy_version).unwrap_or(i32::MAX),
            policy,
            staff,
        }
    }

    fn opt_weighted(&self, rng: &mut Rng, list: &[(String, u32)]) -> Option<String> {
        (!list.is_empty()).then(|| rng.weighted(list).clone())
    }

    fn known(list: &[String], code: &str) -> Option<String> {
        list.iter()
            .find(|c| *c == code)
            .or_else(|| list.iter().find(|c| *c == "other"))
            .cloned()
    }

    fn date_between(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0);
        from + Duration::days(rng.range(0, span))
    }

    /// The customer at `position` (its number among all customers).
    fn customer(&self, position: u64) -> GenCustomer {
        let mut rng = Rng::for_item(self.seed, position);
        let name = company_name(&mut rng);
        let created_at = self.now - Duration::seconds(rng.range(3600, 3 * 365 * 86_400));
        let updated_at = created_at
            + Duration::seconds(rng.range(0, (self.now - created_at).num_seconds().max(0)));
        let created_day = created_at
            .with_timezone(&self.policy.timezone())
            .date_naive();
        let stage = self
            .opt_weighted(&mut rng, &self.stages)
            .unwrap_or_default();
        let cooperating = matches!(stage.as_str(), "new" | "active" | "dormant" | "lost");
        let region = Self::known(&self.regions, name.region);
        let owners = region
            .as_ref()
            .and_then(|r| self.staff.by_region.get(r))
            .filter(|v| !v.is_empty())
            .unwrap_or(&self.staff.all);
        let owner_id = *rng.pick(owners);
        let mut address = String::with_capacity(48);
        address.push_str(name.city);
        address.push('市');
        if let Some(d) = name.district {
            address.push_str(d);
        }
        let _ = write!(address, "{}{}号", rng.pick(ROADS), rng.range(1, 999));
        let legal = person_name(&mut rng);
        let capital_fen = rng.weighted(CAPITAL_WAN) * 10_000 * 100;
        let mut tags: Vec<String> = Vec::new();
        if rng.chance(30) {
            tags.push((*rng.pick(TAGS)).to_owned());
            if rng.chance(30) {
                tags.push((*rng.pick(TAGS)).to_owned());
            }
            tags.sort();
            tags.dedup();
        }
        let keys = model::pinyin_keys(&name.full);
        let cols = model::search_columns(&name.full, Some(&name.short));
        let mut c = customers::Model {
            id: 0,
            code: String::new(),
            full_name: name.full.clone(),
            short_name: Some(name.short.clone()),
            mnemonic: keys.initials,
            pinyin: keys.full,
            name_norm: model::normalize_name(&name.full),
            name_text: cols.name_text,
            pinyin_text: cols.pinyin_text,
            credit_code: Some(credit_code(self.seed, position)),
            customer_type: self.opt_weighted(&mut rng, &self.types).unwrap_or_default(),
            industry: Self::known(&self.industries, name.industry),
            region,
            // A few archives are left incomplete, so the overdue lists have content.
            address: (!rng.chance(3)).then_some(address),
            legal_representative: (!rng.chance(5)).then_some(legal),
            registered_capital_fen: Some(capital_fen),
            business_scope: (!rng.chance(10)).then(|| name.scope.to_owned()),
            scale: self.opt_weighted(&mut rng, &self.scales),
            stage,
            source: self.opt_weighted(&mut rng, &self.sources),
            first_contact_date: Some(created_day - Duration::days(rng.range(0, 180))),
            cooperation_start_date: cooperating.then(|| {
                Self::date_between(
                    &mut rng,
                    created_day,
                    (created_day + Duration::days(90)).min(self.today),
                )
            }),
            owner_id,
            tags: if tags.is_empty() {
                String::new()
            } else {
                format!(",{},", tags.join(","))
            },
            notes: rng.chance(10).then(|| (*rng.pick(NOTES)).to_owned()),
            grade: None,
            basic_due_at: created_at,
            full_due_at: created_at,
            basic_complete: false,
            full_complete: false,
            completeness: 0,
            policy_version: self.policy_version,
            created_by: "demo".into(),
            created_at,
            updated_at,
            version: 1,
        };
        let cp = &self.policy.customers;
        c.basic_due_at = self
            .calendar
            .working_days_due(created_at, cp.basic_deadline_days);
        c.full_due_at = self
            .calendar
            .working_days_due(created_at, cp.full_deadline_days);

        let n_contacts = 1 + rng.below(3);
        let mut contacts = Vec::with_capacity(n_contacts);
        let mut contact_models = Vec::with_capacity(n_contacts);
        for k in 0..n_contacts {
            let person = if k == 0 && rng.chance(30) {
                c.legal_representative
                    .clone()
                    .unwrap_or_else(|| person_name(&mut rng))
            } else {
                person_name(&mut rng)
            };
            let (title, role, _) = *rng.pick(TITLES);
            let mut phones = mobile(&mut rng);
            if rng.chance(15) {
                phones.push_str(", ");
                phones.push_str(&mobile(&mut rng));
            }
            let email = rng
                .chance(40)
                .then(|| format!("{}@{}.com.cn", model::pinyin_keys(&person).full, c.mnemonic));
            let wechat = rng
                .chance(50)
                .then(|| format!("wxid_{:010x}", rng.next_u64() & 0xFF_FFFF_FFFF));
            let birthday = rng.chance(50).then(|| {
                NaiveDate::from_ymd_opt(
                    i32::try_from(rng.range(1965, 1998)).unwrap_or(1980),
                    u32::try_from(rng.range(1, 12)).unwrap_or(1),
                    u32::try_from(rng.range(1, 28)).unwrap_or(1),
                )
                .unwrap_or(created_day)
            });
            contact_models.push(contacts::Model {
                id: 0,
                customer_id: 0,
                name: person.clone(),
                title: Some(title.to_owned()),
                phones: phones.clone(),
                email: None,
                wechat: None,
                birthday: None,
                decision_role: None,
                notes: None,
                created_at,
                updated_at: created_at,
                version: 1,
            });
            contacts.push(GenContact {
                name: person,
                title: Some(title.to_owned()),
                phones,
                email,
                wechat,
                birthday,
                decision_role: Self::known(&self.decision_roles, role),
            });
        }

        let n_interactions = rng.below(6);
        let mut interactions = Vec::with_capacity(n_interactions);
        for _ in 0..n_interactions {
            if self.kinds.is_empty() {
                break;
            }
            let kind = rng.pick(&self.kinds).clone();
            let summaries = SUMMARIES
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(SUMMARIES[0].1, |(_, s)| *s);
            let occurred_on = Self::date_between(&mut rng, created_day, self.today);
            let created = (occurred_on
                .and_hms_opt(u32::try_from(rng.range(1, 10)).unwrap_or(2), 0, 0)
                .unwrap_or_default()
                .and_utc())
            .min(self.now);
            let next = rng.chance(50);
            interactions.push(GenInteraction {
                kind,
                occurred_on,
                participants: rng.chance(60).then(|| {
                    let first = contacts[rng.below(contacts.len())].name.clone();
                    format!("{first}、{}", person_name(&mut rng))
                }),
                summary: (*rng.pick(summaries)).to_owned(),
                next_step: next.then(|| (*rng.pick(NEXT_STEPS)).to_owned()),
                next_step_on: next.then(|| occurred_on + Duration::days(rng.range(3, 30))),
                created_at: created,
            });
        }

        let (basic, full, score) = crate::customers::stored_completeness(
            &c,
            contacts.len(),
            false,
            &self.policy.customers,
            self.now,
        );
        c.basic_complete = basic;
        c.full_complete = full;
        c.completeness = score;
        let terms = crate::customers::terms_for(&c, &contact_models, &[]);
        GenCustomer {
            c,
            contacts,
            interactions,
            terms,
        }
    }
}

// ------------------------------------------------------------------ writing

fn max_params(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => POSTGRES_MAX_PARAMS,
        _ => SQLITE_MAX_PARAMS,
    }
}

fn insert_sql(
    backend: DbBackend,
    table: &str,
    cols: &[&str],
    rows: usize,
    returning: Option<&str>,
) -> String {
    let mut sql = String::with_capacity(64 + rows * cols.len() * 6);
    let _ = write!(sql, "INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            if backend == DbBackend::Postgres {
                let _ = write!(sql, "${n}");
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    if let Some(r) = returning {
        sql.push_str(" RETURNING ");
        sql.push_str(r);
    }
    sql
}

/// Inserts `values` (row after row of `cols.len()` values) with as many rows
/// per statement as the engine's bind-parameter limit allows; returns the
/// `returning` rows, if asked for.
async fn insert_rows(
    txn: &DatabaseTransaction,
    table: &str,
    cols: &[&str],
    mut values: Vec<Value>,
    returning: Option<&str>,
) -> Result<Vec<QueryResult>> {
    let backend = txn.get_database_backend();
    let per_stmt = (max_params(backend) / cols.len()) * cols.len();
    let mut out = Vec::new();
    while !values.is_empty() {
        let rest = values.split_off(per_stmt.min(values.len()));
        let chunk = std::mem::replace(&mut values, rest);
        let sql = insert_sql(backend, table, cols, chunk.len() / cols.len(), returning);
        let stmt = Statement::from_sql_and_values(backend, sql, chunk);
        if returning.is_some() {
            out.extend(txn.query_all_raw(stmt).await?);
        } else {
            txn.execute_raw(stmt).await?;
        }
    }
    Ok(out)
}

const CUSTOMER_COLS: &[&str] = &[
    "code",
    "full_name",
    "short_name",
    "mnemonic",
    "pinyin",
    "name_norm",
    "name_text",
    "pinyin_text",
    "credit_code",
    "customer_type",
    "industry",
    "region",
    "address",
    "legal_representative",
    "registered_capital_fen",
    "business_scope",
    "scale",
    "stage",
    "source",
    "first_contact_date",
    "cooperation_start_date",
    "owner_id",
    "tags",
    "notes",
    "grade",
    "basic_due_at",
    "full_due_at",
    "basic_complete",
    "full_complete",
    "completeness",
    "policy_version",
    "created_by",
    "created_at",
    "updated_at",
    "version",
];

fn customer_values(c: customers::Model, out: &mut Vec<Value>) {
    out.extend([
        c.code.into(),
        c.full_name.into(),
        c.short_name.into(),
        c.mnemonic.into(),
        c.pinyin.into(),
        c.name_norm.into(),
        c.name_text.into(),
        c.pinyin_text.into(),
        c.credit_code.into(),
        c.customer_type.into(),
        c.industry.into(),
        c.region.into(),
        c.address.into(),
        c.legal_representative.into(),
        c.registered_capital_fen.into(),
        c.business_scope.into(),
        c.scale.into(),
        c.stage.into(),
        c.source.into(),
        c.first_contact_date.into(),
        c.cooperation_start_date.into(),
        c.owner_id.into(),
        c.tags.into(),
        c.notes.into(),
        c.grade.into(),
        c.basic_due_at.into(),
        c.full_due_at.into(),
        c.basic_complete.into(),
        c.full_complete.into(),
        c.completeness.into(),
        c.policy_version.into(),
        c.created_by.into(),
        c.created_at.into(),
        c.updated_at.into(),
        c.version.into(),
    ]);
}

/// The connection the import writes through. On SQLite a dedicated one:
/// one connection with a page cache of 256 MiB (bulk writes touch index pages
/// all over) and `synchronous = NORMAL`, under which a commit does not wait
/// for the disk (WAL mode: a crash may lose the last batches, never corrupt
/// the database; every checkpoint is still synced). On PostgreSQL the pool.
async fn bulk_connection(state: &AppState) -> Result<db::Db> {
    if state.db.get_database_backend() != DbBackend::Sqlite {
        return Ok(state.db.clone());
    }
    let mut opts = sea_orm::ConnectOptions::new(state.config.database_url());
    opts.sqlx_logging(false)
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(60));
    opts.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(30))
            .pragma("cache_size", format!("-{SQLITE_BULK_CACHE_KIB}"))
    });
    Ok(sea_orm::Database::connect(opts).await?)
}

/// Counts of one written batch.
#[derive(Debug, Default, Clone, Copy)]
struct Written {
    contacts: u64,
    interactions: u64,
    terms: u64,
}

async fn write_batch(
    bulk: &db::Db,
    actor: &AuditActor,
    policy: &Policy,
    batch: Vec<GenCustomer>,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<(Written, String, String)> {
    let today = now.with_timezone(&policy.timezone()).date_naive();
    let format = policy.number_format("customer").ok_or_else(|| {
        Error::from(
            crate::platform::error::FieldError::new("kind", "error.numbering_kind_unknown")
                .arg("kind", "customer"),
        )
    })?;
    let n = u64::try_from(batch.len()).unwrap_or(0);
    let txn = db::begin_write(bulk).await?;
    let first = numbering::reserve_block(&txn, policy, "customer", today, n).await?;
    let mut codes = Vec::with_capacity(batch.len());
    let mut values = Vec::with_capacity(batch.len() * CUSTOMER_COLS.len());
    let mut rest = Vec::with_capacity(batch.len());
    for (i, g) in batch.into_iter().enumerate() {
        let mut c = g.c;
        c.code = format.render(today, first + u64::try_from(i).unwrap_or(0));
        codes.push(c.code.clone());
        let meta = (c.owner_id, c.created_at);
        customer_values(c, &mut values);
        rest.push((meta, g.contacts, g.interactions, g.terms));
    }
    let rows = insert_rows(&txn, "customers", CUSTOMER_COLS, values, Some("id, code")).await?;
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for r in rows {
        ids.insert(r.try_get("", "code")?, r.try_get("", "id")?);
    }
    let mut terms = Vec::new();
    let mut contacts_v = Vec::new();
    let mut interactions_v = Vec::new();
    let mut history = Vec::new();
    let mut w = Written::default();
    for (code, ((owner_id, created_at), contacts, interactions, t)) in codes.iter().zip(rest) {
        let id = *ids.get(code).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("inserted customer {code} not returned"))
        })?;
        w.terms += u64::try_from(t.len()).unwrap_or(0);
        terms.push((id, owner_id, t));
        for ct in contacts {
            w.contacts += 1;
            contacts_v.extend([
                Value::from(id),
                ct.name.into(),
                ct.title.into(),
                ct.phones.into(),
                ct.email.into(),
                ct.wechat.into(),
                ct.birthday.into(),
                ct.decision_role.into(),
                Value::String(None),
                created_at.into(),
                created_at.into(),
                Value::from(1_i64),
            ]);
        }
        for it in interactions {
            w.interactions += 1;
            interactions_v.extend([
                Value::from(id),
                it.kind.into(),
                it.occurred_on.into(),
                it.participants.into(),
                it.summary.into(),
                it.next_step.into(),
                it.next_step_on.into(),
                Value::from(owner_id),
                it.created_at.into(),
            ]);
        }
        history.extend([
            Value::from(id),
            Value::from(owner_id),
            created_at.into(),
            Value::ChronoDateTimeUtc(None),
            Value::String(None),
            Value::from("demo"),
        ]);
    }
    let docs: Vec<(i64, i64, &[String])> = terms
        .iter()
        .map(|(id, owner, t)| (*id, *owner, t.as_slice()))
        .collect();
    crate::customers::store::insert_terms(&txn, &docs).await?;
    insert_rows(
        &txn,
        "contacts",
        &[
            "customer_id",
            "name",
            "title",
            "phones",
            "email",
            "wechat",
            "birthday",
            "decision_role",
            "notes",
            "created_at",
            "updated_at",
            "version",
        ],
        contacts_v,
        None,
    )
    .await?;
    insert_rows(
        &txn,
        "interactions",
        &[
            "customer_id",
            "kind",
            "occurred_on",
            "participants",
            "summary",
            "next_step",
            "next_step_on",
            "created_by_id",
            "created_at",
        ],
        interactions_v,
        None,
    )
    .await?;
    insert_rows(
        &txn,
        "customer_owner_history",
        &[
            "customer_id",
            "owner_id",
            "from_at",
            "to_at",
            "reason",
            "changed_by",
        ],
        history,
        None,
    )
    .await?;
    let first_code = codes.first().cloned().unwrap_or_default();
    let last_code = codes.last().cloned().unwrap_or_default();
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            actor,
            "demo_import",
            "customer_batch",
            format!("{first_code}..{last_code}"),
        )
        .change("customers", serde_json::Value::Null, n)
        .change(
            "codes",
            serde_json::Value::Null,
            format!("{first_code}..{last_code}"),
        )
        .change("contacts", serde_json::Value::Null, w.contacts)
        .change("interactions", serde_json::Value::Null, w.interactions)
        .change("seed", serde_json::Value::Null, seed)
        .reason(Some("kehu demo".into())),
    )
    .await?;
    txn.commit().await?;
    Ok((w, first_code, last_code))
}

/// Adds `opts.customers` demo customers (and the demo staff, when missing).
/// `progress(done, total)` is called after every committed batch.
pub async fn generate(
    state: &AppState,
    actor: &AuditActor,
    opts: &DemoOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<DemoReport> {
    let started = Instant::now();
    let staff = ensure_staff(state, actor, opts.reps, opts.seed).await?;
    let p = state.policy();
    let now = state.clock.now();
    let start = customers::Entity::find().count(&state.db).await?;
    let mut report = DemoReport {
        customers: 0,
        contacts: 0,
        interactions: 0,
        search_terms: 0,
        first_code: None,
        last_code: None,
        teams: staff.teams.clone(),
        managers: staff.managers.clone(),
        reps: staff.reps.clone(),
        password: DEMO_PASSWORD,
        seconds: 0.0,
    };
    let total = opts.customers;
    let batch = opts.batch.max(1);
    let bulk = bulk_connection(state).await?;
    let generator = Arc::new(Generator::new(
        p.policy.clone(),
        p.version,
        staff,
        opts.seed,
        now,
    ));
    // The generator thread builds batch k+1 while the database writes batch k.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<GenCustomer>>(2);
    let gen_thread = {
        let generator = generator.clone();
        std::thread::spawn(move || {
            let mut pos = start;
            let end = start + total;
            while pos < end {
                let upto = (pos + u64::try_from(batch).unwrap_or(1)).min(end);
                let rows: Vec<GenCustomer> = (pos..upto).map(|i| generator.customer(i)).collect();
                if tx.blocking_send(rows).is_err() {
                    return;
                }
                pos = upto;
            }
        })
    };
    let mut result = Ok(());
    while let Some(rows) = rx.recv().await {
        let n = u64::try_from(rows.len()).unwrap_or(0);
        match write_batch(&bulk, actor, &p.policy, rows, now, opts.seed).await {
            Ok((w, first, last)) => {
                report.customers += n;
                report.contacts += w.contacts;
                report.interactions += w.interactions;
                report.search_terms += w.terms;
                if report.first_code.is_none() {
                    report.first_code = Some(first);
                }
                report.last_code = Some(last);
                progress(report.customers, total);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    drop(rx);
    let _ = gen_thread.join();
    if bulk.get_database_backend() == DbBackend::Sqlite {
        bulk.close().await?;
    }
    result?;
    crate::platform::db::refresh_after_bulk_write(&state.db, crate::customers::store::BULK_WRITTEN)
        .await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for pos in (0..20_000).chain(EXTERNAL_CODE_BASE..EXTERNAL_CODE_BASE + 1000) {
            let code = credit_code(42, pos);
            assert_eq!(
                model::validate_credit_code(&code).as_deref(),
                Ok(code.as_str())
            );
            assert!(seen.insert(code), "duplicate at {pos}");
        }
        assert_eq!(credit_code(42, 5), credit_code(42, 5));
    }

    #[test]
    fn mobiles_are_valid_and_canonical() {
        let mut rng = Rng::new(3);
        for _ in 0..2000 {
            let m = mobile(&mut rng);
            assert_eq!(model::normalize_phone(&m).as_deref(), Ok(m.as_str()));
        }
    }

    #[test]
    fn company_names_look_real_and_rarely_repeat() {
        let mut rng = Rng::new(9);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let n = company_name(&mut rng);
            assert!(
                ["公司", "厂"].iter().any(|s| n.full.ends_with(s)),
                "{}",
                n.full
            );
            assert!(n.full.starts_with(n.city), "{}", n.full);
            assert!(n.full.contains(&n.short[..6]), "{}", n.full);
            seen.insert(n.full);
        }
        assert!(seen.len() > 19_800, "{} distinct of 20000", seen.len());
        // The same seed, the same names.
        assert_eq!(
            company_name(&mut Rng::new(1)).full,
            company_name(&mut Rng::new(1)).full
        );
    }

    #[test]
    fn the_default_policy_knows_every_generated_code() {
        let p = Policy::default_policy();
        let knows =
            |list: &str, code: &str| p.customers.choices(list).iter().any(|c| c.code == code);
        for (_, region, _) in CITIES {
            assert!(knows("regions", region), "{region}");
        }
        for (_, industry, _) in INDUSTRY_WORDS {
            assert!(knows("industries", industry), "{industry}");
        }
        for (_, role, _) in TITLES {
            assert!(knows("decision_roles", role), "{role}");
        }
        for (kind, _) in SUMMARIES {
            assert!(knows("interaction_kinds", kind), "{kind}");
        }
        for (list, weights) in [
            ("types", TYPE_WEIGHTS),
            ("stages", STAGE_WEIGHTS),
            ("scales", SCALE_WEIGHTS),
            ("sources", SOURCE_WEIGHTS),
        ] {
            for (code, _) in weights {
                assert!(knows(list, code), "{list}: {code}");
            }
        }
        for (_, _, regions) in TEAMS {
            for r in *regions {
                assert!(knows("regions", r), "{r}");
            }
        }
    }

    #[test]
    fn multi_row_inserts_respect_the_parameter_limits() {
        let sql = insert_sql(DbBackend::Sqlite, "t", &["a", "b"], 2, Some("id"));
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?,?),(?,?) RETURNING id");
        let sql = insert_sql(DbBackend::Postgres, "t", &["a", "b"], 2, None);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)");
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let rows = max_params(backend) / CUSTOMER_COLS.len();
            assert!(rows * CUSTOMER_COLS.len() <= max_params(backend));
            assert!(rows >= 900, "{rows}");
        }
    }
}
