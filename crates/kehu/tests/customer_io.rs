//! Customer import and export (SPEC §1 "Import/export", §0 保密) through the
//! API, the pages and the service functions, on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use kehu::customers::io::{self, COLUMNS};
use kehu::customers::model::generate_credit_code;
use kehu::platform::sheet::{self, Format};
use kehu::testing::{TestServer, password_of};
use reqwest::StatusCode;
use serde_json::Value;

/// A valid credit code, different for every `i` below 31⁴.
fn credit_code(i: usize) -> String {
    let mut bytes = [0u8; 16];
    bytes[0] = (i % 8) as u8;
    let mut n = i;
    for b in bytes.iter_mut().skip(1).take(8) {
        *b = (n % 31) as u8;
        n /= 31;
    }
    generate_credit_code(&bytes)
}

/// The same code with a wrong check character.
fn wrong_check(code: &str) -> String {
    let last = code.chars().last().unwrap_or('0');
    let other = if last == '1' { '2' } else { '1' };
    format!("{}{other}", &code[..code.len() - 1])
}

/// An .xlsx built the way a user's Excel would: text headers, a numeric
/// phone and capital, a date cell.
fn xlsx(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            if v.is_empty() {
                continue;
            }
            if headers[c as usize] == "首次接触日期" {
                let d = rust_xlsxwriter::ExcelDateTime::parse_from_str(v)?;
                sheet.write_datetime_with_format(r, c, &d, &date_format)?;
            } else if headers[c as usize] == "联系人电话" || headers[c as usize] == "注册资本（元）"
            {
                sheet.write_number(r, c, v.parse::<f64>()?)?;
            } else {
                sheet.write_string(r, c, v)?;
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

const HEADERS: &[&str] = &[
    "客户全称*",
    "统一社会信用代码",
    "客户类型*",
    "客户阶段",
    "注册资本（元）",
    "首次接触日期",
    "联系人",
    "联系人电话",
];

/// Row `i` of a good file: unique name, credit code and phone.
fn good_row(i: usize) -> Vec<String> {
    const CITIES: &[&str] = &[
        "上海", "北京", "广州", "深圳", "杭州", "南京", "苏州", "宁波",
    ];
    vec![
        format!("{}华盛精密机械{}号有限公司", CITIES[i % CITIES.len()], i),
        credit_code(i),
        if i.is_multiple_of(2) {
            "经销商"
        } else {
            "dealer"
        }
        .to_owned(),
        "活跃".to_owned(),
        "5000000".to_owned(),
        "2025-03-15".to_owned(),
        format!("联系人{i}"),
        format!("139{:08}", i),
    ]
}

async fn post_file(
    s: &TestServer,
    token: &str,
    query: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<(StatusCode, Value)> {
    let r = s
        .client()
        .post(s.url(&format!("/api/v1/customers/import?{query}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await?;
    let status = r.status();
    Ok((status, r.json().await?))
}

async fn total(s: &TestServer, token: &str, query: &str) -> anyhow::Result<u64> {
    let v: Value = s
        .client()
        .get(s.url(&format!("/api/v1/customers?per_page=1&{query}")))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    v["total"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no total in {v}"))
}

async fn admin_token(s: &TestServer) -> anyhow::Result<String> {
    let admin = kehu::platform::auth::get_user_by_name(&s.state, "admin").await?;
    s.token(admin.id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_rows_with_three_bad_rows() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let token = admin_token(&s).await?;
    let mut rows: Vec<Vec<String>> = (0..1000).map(good_row).collect();
    // Data row i is sheet row i + 2 (the header is row 1).
    rows[100][1] = wrong_check(&credit_code(100));
    rows[500][2] = "批发商".into();
    rows[900][0] = String::new();
    let file = xlsx(HEADERS, &rows)?;

    // All or nothing: nothing imported, exactly the three rows reported.
    let (status, body) = post_file(&s, &token, "format=xlsx", file.clone()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_rows");
    let errors = body["error"]["errors"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no errors in {body}"))?;
    let found: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or_default(),
                e["column"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (102, "统一社会信用代码"),
            (502, "客户类型"),
            (902, "客户全称")
        ],
        "{body}"
    );
    for e in errors {
        assert!(!e["message"].as_str().unwrap_or_default().is_empty(), "{e}");
    }
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("批发商"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "rows[102].credit_code");
    assert_eq!(total(&s, &token, "").await?, 0);

    // Skip bad rows: 997 imported, the same three reported.
    let (status, body) = post_file(&s, &token, "format=xlsx&skip_invalid=true", file).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 997);
    assert_eq!(body["skipped"], 3);
    assert_eq!(body["rows"], 1000);
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3));
    assert_eq!(total(&s, &token, "").await?, 997);

    // Values came through: the type by its Chinese or English name, the stage
    // by name, the capital and the date cell, the contact and its phone.
    let found: Value = s
        .client()
        .get(s.url("/api/v1/customers?q=上海华盛精密机械8号有限公司"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let id = found["items"][0]["id"].as_i64().unwrap_or_default();
    let c: Value = s
        .client()
        .get(s.url(&format!("/api/v1/customers/{id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(c["customer_type"], "dealer");
    assert_eq!(c["stage"], "active");
    assert_eq!(c["registered_capital"], "5000000.00");
    assert_eq!(c["first_contact_date"], "2025-03-15");
    assert_eq!(c["credit_code"], credit_code(8).as_str());
    assert_eq!(c["owner"]["username"], "admin");
    let contacts: Value = s
        .client()
        .get(s.url(&format!("/api/v1/customers/{id}/contacts")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(contacts["items"][0]["name"], "联系人8");
    assert_eq!(contacts["items"][0]["phones"][0], "13900000008");
    // Found by phone and by pinyin initials, like a customer made in the form.
    assert_eq!(total(&s, &token, "q=13900000008").await?, 1);
    assert!(total(&s, &token, "q=shhsjmjx").await? >= 1);

    // Each imported customer has its audit entry; the chain holds.
    let audit: Value = s
        .client()
        .get(s.url("/api/v1/audit?action=import&entity_type=customer&per_page=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(audit["total"], 997, "{audit}");
    let verify: Value = s
        .client()
        .get(s.url("/api/v1/audit/verify"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert!(verify["broken"].is_null(), "{verify}");

    // The codes are consecutive from the policy format.
    let first = kehu::customers::search(
        &s.state,
        &kehu::platform::auth::Actor {
            user_id: 1,
            username: "admin".into(),
            display_name: "admin".into(),
            roles: vec![kehu::platform::auth::Role::Admin],
            team_id: None,
            language: "zh-CN".into(),
            csrf_token: None,
            session_id: None,
        },
        &kehu::customers::CustomerFilter {
            sort: Some("code".into()),
            per_page: Some(200),
            ..Default::default()
        },
    )
    .await?
    .0;
    let seqs: Vec<u64> = first
        .iter()
        .map(|c| {
            c.code
                .chars()
                .rev()
                .take(4)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
                .parse()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    Ok(())
}

/// Files over a few thousand rows are validated by several threads, each a
/// share of the rows: the errors still come in row order, in the request's
/// language from every thread, and the good rows are all imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_are_validated_in_shares_with_errors_in_row_order() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let token = admin_token(&s).await?;
    let mut rows: Vec<Vec<String>> = (0..5000).map(good_row).collect();
    for i in [4900, 10, 2600] {
        rows[i][1] = wrong_check(&credit_code(i));
    }
    let file = xlsx(HEADERS, &rows)?;
    let r = s
        .client()
        .post(s.url("/api/v1/customers/import?format=xlsx&skip_invalid=true"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await?;
    let errors = body["errors"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no errors in {body}"))?;
    let rows_reported: Vec<u64> = errors
        .iter()
        .map(|e| e["row"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(rows_reported, vec![12, 2602, 4902], "{body}");
    for e in errors {
        assert!(
            e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("check character"),
            "{e}"
        );
    }
    assert_eq!(body["imported"], 4997, "{body}");
    assert_eq!(total(&s, &token, "").await?, 4997);
    // The last share's rows are searchable like the first's.
    for i in [0, 4999] {
        let q = format!("q={}", credit_code(i));
        assert_eq!(total(&s, &token, &q).await?, 1, "row {i}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gbk_csv_with_names_dates_and_english_headers() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let rep = s.add_user("rep_csv", &["sales_rep"], None).await?;
    let token = s.token(rep).await?;
    let text = "客户全称,客户类型,客户阶段,行业,区域,首次接触日期,注册资本（元）,标签,联系人,联系人电话,联系人职务\r\n\
                北京石油化工设备有限公司,零售商,新客户,,,2026/1/5,\"1,200,000.50\",重点，华北,王五,010-12345678,采购部经理\r\n\
                \r\n\
                杭州西湖茶叶有限公司,终端消费者,,,,2025年12月31日,,,,,\r\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    let r = s
        .client()
        .post(s.url("/api/v1/customers/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(gbk.into_owned())
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 2, "{body}");
    assert_eq!(body["rows"], 2, "{body}");
    let list: Value = s
        .client()
        .get(s.url("/api/v1/customers?q=bjsy"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["total"], 1, "{list}");
    let c = &list["items"][0];
    assert_eq!(c["customer_type"], "retailer");
    assert_eq!(c["stage"], "new");
    assert_eq!(c["tags"], serde_json::json!(["华北", "重点"]));
    let id = c["id"].as_i64().unwrap_or_default();
    let c: Value = s
        .client()
        .get(s.url(&format!("/api/v1/customers/{id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(c["first_contact_date"], "2026-01-05");
    assert_eq!(c["registered_capital"], "1200000.50");
    assert_eq!(c["owner"]["username"], "rep_csv");

    // English headers (UTF-8), an unknown stage and a bad date: row errors in English.
    let text = "Full name,Customer type,Stage,First contact date\n\
                Suzhou Optics Co.,Dealer,someday,2026-13-01\n";
    let r = s
        .client()
        .post(s.url("/api/v1/customers/import?format=csv"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .body(text)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await?;
    let errors = &body["error"]["errors"];
    assert_eq!(errors[0]["row"], 2, "{body}");
    assert_eq!(errors[0]["column"], "Stage", "{body}");
    assert_eq!(errors[1]["column"], "First contact date", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Nothing was imported"),
        "{body}"
    );

    // A file that is not a customer list: one clear error, nothing imported.
    let r = s
        .client()
        .post(s.url("/api/v1/customers/import?format=csv"))
        .bearer_auth(&token)
        .body("名称,数量\n螺丝,3\n")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["fields"][0]["field"], "file", "{body}");
    assert_eq!(total(&s, &token, "").await?, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_in_the_file_and_in_the_archive() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let token = admin_token(&s).await?;
    // An existing customer, with a credit code, a name and a phone.
    let existing: Value = s
        .client()
        .post(s.url("/api/v1/customers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "full_name": "上海老客户有限公司",
            "customer_type": "dealer",
            "credit_code": credit_code(7),
            "contact_name": "赵六",
            "contact_phone": "13911112222",
        }))
        .send()
        .await?
        .json()
        .await?;
    let existing_code = existing["code"].as_str().unwrap_or_default().to_owned();
    let rows = vec![
        good_row(1),
        {
            let mut r = good_row(2);
            r[1] = credit_code(1); // same credit code as the row above
            r
        },
        {
            let mut r = good_row(3);
            r[1] = credit_code(7); // the existing customer's
            r
        },
        {
            let mut r = good_row(4);
            r[0] = "上海老客户有限公司".into(); // the existing customer's name
            r
        },
        {
            let mut r = good_row(5);
            r[7] = "13911112222".into(); // the existing customer's phone
            r
        },
        {
            let mut r = good_row(6);
            r[0] = good_row(1)[0].clone(); // the name of row 2
            r
        },
    ];
    let file = xlsx(HEADERS, &rows)?;
    let (status, body) = post_file(&s, &token, "", file.clone()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let errors = body["error"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_row = |row: u64| {
        errors
            .iter()
            .filter(|e| e["row"] == row)
            .map(|e| {
                format!(
                    "{}: {}",
                    e["column"].as_str().unwrap_or_default(),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(by_row(2).is_empty(), "{errors:?}");
    assert_eq!(by_row(3).len(), 1, "{errors:?}");
    assert!(by_row(3)[0].starts_with("统一社会信用代码"), "{errors:?}");
    assert!(by_row(3)[0].contains("第 2 行"), "{errors:?}");
    assert!(by_row(4)[0].starts_with("统一社会信用代码"), "{errors:?}");
    assert!(by_row(4)[0].contains(&existing_code), "{errors:?}");
    assert!(by_row(5)[0].starts_with("客户全称"), "{errors:?}");
    assert!(by_row(5)[0].contains(&existing_code), "{errors:?}");
    assert!(by_row(6)[0].starts_with("联系人电话"), "{errors:?}");
    assert!(by_row(7)[0].starts_with("客户全称"), "{errors:?}");
    assert!(by_row(7)[0].contains("第 2 行"), "{errors:?}");
    assert_eq!(total(&s, &token, "").await?, 1);

    // Accepting possible duplicates imports the same-name and same-phone
    // rows; the credit codes are still refused, so skip those rows.
    let (status, body) = post_file(
        &s,
        &token,
        "confirm_duplicates=true&skip_invalid=true",
        file,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 4, "{body}");
    assert_eq!(body["skipped"], 2, "{body}");
    assert_eq!(total(&s, &token, "").await?, 5);
    let audit: Value = s
        .client()
        .get(s.url("/api/v1/audit?action=import"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let confirmed = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("duplicate"))
        })
        .count();
    assert_eq!(confirmed, 3, "{audit}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_follow_the_owner_rules() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let manager = s.add_user("mgr", &["sales_manager"], None).await?;
    let team = kehu::platform::auth::create_team(
        &s.state,
        &kehu::platform::audit::AuditActor::system(),
        kehu::platform::auth::TeamInput {
            name: "华东".into(),
            manager_id: Some(manager),
            version: None,
        },
    )
    .await?;
    s.add_user("member", &["sales_rep"], Some(team.id)).await?;
    s.add_user("outsider", &["sales_rep"], None).await?;
    let token = s.token(manager).await?;
    let headers = ["客户全称", "客户类型", "客户经理"];
    let rows = vec![
        vec![
            "甲公司".to_owned(),
            "经销商".to_owned(),
            "member".to_owned(),
        ],
        vec![
            "乙公司".to_owned(),
            "经销商".to_owned(),
            "outsider".to_owned(),
        ],
        vec![
            "丙公司".to_owned(),
            "经销商".to_owned(),
            "nobody".to_owned(),
        ],
        vec!["丁公司".to_owned(), "经销商".to_owned(), String::new()],
    ];
    let (status, body) = post_file(&s, &token, "skip_invalid=1", xlsx(&headers, &rows)?).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 2, "{body}");
    let errors = &body["errors"];
    assert_eq!(errors[0]["row"], 3);
    assert_eq!(errors[0]["column"], "客户经理");
    assert_eq!(errors[1]["row"], 4);
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nobody"),
        "{body}"
    );
    let list: Value = s
        .client()
        .get(s.url("/api/v1/customers?sort=name"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let owners: Vec<(&str, i64)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["full_name"].as_str().unwrap_or_default(),
                c["owner_id"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(owners.contains(&("丁公司", manager)), "{owners:?}");
    assert_eq!(owners.len(), 2);

    // Roles that may not create customers may not import either.
    let finance = s.add_user("fin", &["finance"], None).await?;
    let (status, _) = post_file(&s, &s.token(finance).await?, "", xlsx(&headers, &rows)?).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

/// Reads an exported CSV back into (code, full name, contact phone) rows.
fn exported(bytes: &[u8]) -> anyhow::Result<Vec<(String, String, String)>> {
    let rows = sheet::read(bytes, Format::Csv, &io::export_columns())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("code").unwrap_or_default().to_owned(),
                r.get("full_name").unwrap_or_default().to_owned(),
                r.get("contact_phone").unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_permitted_scoped_masked_and_audited() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let rep1 = s.add_user("rep1", &["sales_rep"], None).await?;
    let rep2 = s.add_user("rep2", &["sales_rep"], None).await?;
    let finance = s.add_user("fin", &["finance"], None).await?;
    let (t1, t2, tf) = (
        s.token(rep1).await?,
        s.token(rep2).await?,
        s.token(finance).await?,
    );
    for (token, name, phone, kind) in [
        (&t1, "宁波港口机械有限公司", "13911110001", "dealer"),
        (&t1, "宁波海天塑机有限公司", "13911110002", "retailer"),
        (&t2, "温州正泰电器有限公司", "13911110003", "dealer"),
    ] {
        let r = s
            .client()
            .post(s.url("/api/v1/customers"))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "full_name": name, "customer_type": kind,
                "contact_name": "联系人", "contact_phone": phone, "contact_title": "经理",
            }))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let export = |token: &String, query: &str| {
        s.client()
            .get(s.url(&format!("/api/v1/customers/export?{query}")))
            .bearer_auth(token)
            .send()
    };
    // The default policy lets admins and sales managers export, nobody else.
    assert_eq!(
        export(&t1, "format=csv").await?.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        export(&tf, "format=csv").await?.status(),
        StatusCode::FORBIDDEN
    );

    // A policy that lets sales reps and finance export.
    s.edit_policy(
        "export_roles = [\"admin\", \"sales_manager\"]",
        "export_roles = [\"admin\", \"sales_manager\", \"sales_rep\", \"finance\"]",
    )
    .await?;

    // A rep exports only its own customers, phones in full.
    let r = export(&t1, "format=csv").await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()?
            .starts_with("attachment; filename=\"customers-"),
    );
    let rows = exported(&r.bytes().await?)?;
    let mut names: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    names.sort();
    assert_eq!(names, ["宁波海天塑机有限公司", "宁波港口机械有限公司"]);
    assert!(
        rows.iter().all(|r| r.2.starts_with("139111100")),
        "{rows:?}"
    );
    // With the list's filters.
    let rows = exported(
        &export(&t1, "format=csv&customer_type=retailer")
            .await?
            .bytes()
            .await?,
    )?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "宁波海天塑机有限公司");

    // Finance sees every customer (read-all role) but not phones.
    let r = export(&tf, "format=xlsx").await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], Format::Xlsx.content_type());
    let rows = sheet::read(&r.bytes().await?, Format::Xlsx, &io::export_columns())?;
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let phone = row.get("contact_phone").unwrap_or_default();
        assert!(phone.starts_with("139****"), "{phone}");
        assert!(row.get("code").is_some_and(|c| !c.is_empty()));
        assert_eq!(row.get("contact_title"), Some("经理"));
    }

    // Every export is in the audit log with its filter and row count.
    let admin = admin_token(&s).await?;
    let audit: Value = s
        .client()
        .get(s.url("/api/v1/audit?entity_type=customer_export"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(audit["total"], 3, "{audit}");
    let items = audit["items"].as_array().cloned().unwrap_or_default();
    let newest = &items[0];
    assert_eq!(newest["actor_name"], "fin", "{newest}");
    assert_eq!(newest["action"], "export");
    let changes = newest["changes"].to_string();
    assert!(changes.contains("\"rows\":[null,3]"), "{changes}");
    assert!(
        changes.contains("\"phones_masked\":[null,true]"),
        "{changes}"
    );
    let filtered = items[1]["changes"].to_string();
    assert!(filtered.contains("retailer"), "{filtered}");
    assert!(filtered.contains("\"rows\":[null,1]"), "{filtered}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_downloads_and_reimports_cleanly() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let rep = s.add_user("rep_t", &["sales_rep"], None).await?;
    let token = s.token(rep).await?;
    let get = |q: &str| {
        s.client()
            .get(s.url(&format!("/api/v1/customers/import-template?{q}")))
            .bearer_auth(&token)
            .send()
    };
    let r = get("format=xlsx").await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], Format::Xlsx.content_type());
    let disposition = r.headers()["content-disposition"].to_str()?.to_owned();
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    let template = r.bytes().await?.to_vec();
    // The header row holds every column, in Chinese, required ones marked.
    let rows = sheet::read(&template, Format::Xlsx, COLUMNS)?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].cells.len(), COLUMNS.len());
    let (status, body) = post_file(&s, &token, "", template).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    assert_eq!(body["errors"], serde_json::json!([]));

    // The CSV template reads the same (its example is now a duplicate).
    let csv = get("format=csv").await?.bytes().await?.to_vec();
    assert!(csv.starts_with(b"\xEF\xBB\xBF\xE5\xAE\xA2\xE6\x88\xB7\xE5\x85\xA8\xE7\xA7\xB0*"));
    let (status, body) = post_file(&s, &token, "format=csv", csv).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["errors"][0]["column"], "统一社会信用代码",
        "{body}"
    );

    // In English, on request.
    let r = s
        .client()
        .get(s.url("/api/v1/customers/import-template?format=csv"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .send()
        .await?;
    let text = String::from_utf8(r.bytes().await?.to_vec())?;
    assert!(text.contains("Full name*,Short name,Credit code"), "{text}");
    assert_eq!(
        get("format=pdf").await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    Ok(())
}

/// A multipart body as a browser sends the import form.
fn multipart(file_name: &str, file: &[u8], checks: &[&str]) -> (String, Vec<u8>) {
    let boundary = "----kehuTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for name in checks {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n1\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_page_shows_every_bad_row_and_the_list_links_exports() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user("mgr_p", &["sales_manager"], None).await?;
    let c = s.login("mgr_p", &password_of("mgr_p")).await?;
    let page = c
        .get(s.url("/customers/import"))
        .send()
        .await?
        .text()
        .await?;
    let action = page
        .split("action=\"")
        .find(|p| p.starts_with("/customers/import?csrf="))
        .and_then(|p| p.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no import form in {page}"))?
        .to_owned();
    assert!(page.contains("/customers/import/template?format=xlsx"));
    let mut rows: Vec<Vec<String>> = (0..5).map(good_row).collect();
    rows[2][1] = wrong_check(&credit_code(2));
    let file = xlsx(HEADERS, &rows)?;

    // Without the token in the action URL the upload is refused.
    let (ct, body) = multipart("客户.xlsx", &file, &[]);
    let r = c
        .post(s.url("/customers/import"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let (ct, body) = multipart("客户.xlsx", &file, &[]);
    let r = c
        .post(s.url(&action))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await?;
    assert!(html.contains("id=\"import-errors\""), "{html}");
    assert!(
        html.contains("<td class=\"nowrap\">4</td><td class=\"nowrap\">统一社会信用代码</td>"),
        "{html}"
    );
    assert!(
        html.contains("data:application/vnd.openxmlformats"),
        "{html}"
    );

    let (ct, body) = multipart("客户.xlsx", &file, &["skip_invalid"]);
    let r = c
        .post(s.url(&action))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await?;
    assert!(html.contains("已导入 4 个客户"), "{html}");
    assert!(html.contains("已跳过 1 个错误行"), "{html}");

    // A file that is not a spreadsheet.
    let (ct, body) = multipart("notes.txt", b"hello", &[]);
    let r = c
        .post(s.url(&action))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The list links the exports with its filters; the links download.
    let list = c
        .get(s.url("/customers?customer_type=dealer&q=华盛"))
        .send()
        .await?
        .text()
        .await?;
    let href = list
        .split("id=\"export-csv\" href=\"")
        .nth(1)
        .and_then(|p| p.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no export link"))?
        .replace("&amp;", "&");
    assert!(href.contains("customer_type=dealer"), "{href}");
    let r = c.get(s.url(&href)).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(exported(&r.bytes().await?)?.len(), 4);

    // A rep sees no export link.
    s.add_user("rep_p", &["sales_rep"], None).await?;
    let rep = s.login("rep_p", &password_of("rep_p")).await?;
    let list = rep.get(s.url("/customers")).send().await?.text().await?;
    assert!(!list.contains("export-csv"));
    assert!(list.contains("/customers/import"));
    Ok(())
}

/// What an export writes, an import reads: a contact with two phones
/// (joined by a comma in the export) moves to another archive intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reimports_into_another_archive_with_every_phone() -> anyhow::Result<()> {
    let from = TestServer::start().await?;
    let token = admin_token(&from).await?;
    let r = from
        .client()
        .post(from.url("/api/v1/customers"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"full_name": "厦门精密模具有限公司", "customer_type": "dealer",
            "contact_name": "林", "contact_phone": "13812345678，0592-5551234"}),
        )
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let file = from
        .client()
        .get(from.url("/api/v1/customers/export?format=xlsx"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(file.status(), StatusCode::OK);
    let file = file.bytes().await?.to_vec();

    let to = TestServer::start().await?;
    let token = admin_token(&to).await?;
    let (status, body) = post_file(&to, &token, "", file).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    for phone in ["13812345678", "05925551234"] {
        assert_eq!(
            total(&to, &token, &format!("q={phone}")).await?,
            1,
            "{phone}"
        );
    }
    Ok(())
}
