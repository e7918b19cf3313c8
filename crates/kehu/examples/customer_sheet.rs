//! Writes a customer import file of N realistic rows, every column filled,
//! for measuring imports (DESIGN.md budget: 100,000 customers < 20 s):
//!
//! ```text
//! cargo run --release -p kehu --example customer_sheet -- 100000 /tmp/customers.xlsx
//! time kehu --data-dir /tmp/kehu-bench import customers /tmp/customers.xlsx
//! ```
use kehu::customers::io::COLUMNS;
use kehu::customers::model::generate_credit_code;
use kehu::platform::sheet::{self, Format};
use kehu::policy::Policy;

const CITIES: &[&str] = &[
    "上海", "北京", "广州", "深圳", "杭州", "南京", "苏州", "宁波", "温州", "佛山", "东莞", "无锡",
];
const WORDS: &[&str] = &[
    "华盛", "恒通", "东方", "鑫源", "金达", "宏远", "永泰", "联合", "精工", "天成", "博信", "瑞丰",
];
const TRADES: &[&str] = &[
    "精密机械",
    "电子科技",
    "塑胶制品",
    "五金制品",
    "汽车零部件",
    "模具",
    "包装材料",
    "化工",
];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().unwrap_or_else(|| "100000".into()).parse()?;
    let path = args.next().unwrap_or_else(|| "customers.xlsx".into());
    let format = Format::from_filename(&path).unwrap_or(Format::Xlsx);
    let policy = Policy::default_policy().customers;
    let pick = |list: &str, i: usize| {
        let choices = policy.choices(list);
        choices
            .get(i % choices.len().max(1))
            .map(|c| c.zh.clone())
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut bytes = [0u8; 16];
            bytes[0] = (i % 8) as u8;
            let mut k = i;
            for b in bytes.iter_mut().skip(1).take(8) {
                *b = (k % 31) as u8;
                k /= 31;
            }
            let city = CITIES[i % CITIES.len()];
            let name = format!(
                "{city}{}{}{}有限公司",
                WORDS[(i / 7) % WORDS.len()],
                TRADES[(i / 3) % TRADES.len()],
                i
            );
            COLUMNS
                .iter()
                .map(|c| match c.key {
                    "full_name" => name.clone(),
                    "short_name" => format!("{}{}", WORDS[(i / 7) % WORDS.len()], i),
                    "credit_code" => generate_credit_code(&bytes),
                    "customer_type" => pick("types", i),
                    "stage" => pick("stages", i),
                    "industry" => pick("industries", i),
                    "region" => pick("regions", i),
                    "address" => format!("{city}市工业园区{}号", i % 999 + 1),
                    "legal_representative" => "张伟".to_owned(),
                    "registered_capital" => format!("{}", (i % 100 + 1) * 100_000),
                    "business_scope" => "机械设备、五金交电、电子产品的销售".to_owned(),
                    "scale" => pick("scales", i),
                    "source" => pick("sources", i),
                    "first_contact_date" => format!("2025-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                    "cooperation_start_date" => String::new(),
                    "owner" => String::new(),
                    "tags" => "重点客户,华东".to_owned(),
                    "notes" => String::new(),
                    "grade" => ["A", "B", "C", "D"][i % 4].to_owned(),
                    "contact_name" => format!("联系人{i}"),
                    "contact_phone" => format!("139{:08}", i),
                    "contact_title" => "采购经理".to_owned(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    let bytes = sheet::write(format, COLUMNS, &rows, "zh-CN", "客户")?;
    std::fs::write(&path, bytes)?;
    println!("{n} rows written to {path}");
    Ok(())
}
