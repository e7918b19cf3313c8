//! What a new user, an auditor and an attacker found (issue 12): input that must be refused with
//! its field and change nothing, limits that keep the server's memory and time bounded, security
//! headers, passwords, login throttling and who may write — on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use std::io::Write as _;
use std::time::Duration;

use kehu::testing::{ADMIN_PASSWORD, Caller, TestServer, fields};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type R = anyhow::Result<()>;

const CUSTOMERS: &str = "/api/v1/customers";

/// A customer with one contact; its phone is 139 and eight digits of the name's hash, so
/// different names never look like duplicates.
async fn customer(c: &Caller, name: &str) -> anyhow::Result<Value> {
    let (st, v) = c
        .post(
            CUSTOMERS,
            json!({"full_name": name, "customer_type": "dealer", "contact_name": "王五", "contact_phone": phone_of(name)}),
        )
        .await?;
    anyhow::ensure!(st == StatusCode::CREATED, "{v}");
    Ok(v)
}

fn phone_of(name: &str) -> String {
    let hash = name
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("139{:08}", hash % 100_000_000)
}

/// An .xlsx import template whose shared strings are `parts` strings of `each` bytes, written
/// as a stream so the test never holds them.
fn inflating_xlsx(parts: usize, each: usize) -> anyhow::Result<Vec<u8>> {
    let template = kehu::platform::sheet::write(
        kehu::platform::sheet::Format::Xlsx,
        &[
            kehu::platform::sheet::Column::new("name", "客户名称", "Customer name"),
            kehu::platform::sheet::Column::new("type", "客户类型", "Customer type"),
        ],
        &[vec!["甲".into(), "经销商".into()]],
        "zh-CN",
        "客户",
    )?;
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(template))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..source.len() {
        let part = source.by_index_raw(i)?;
        if part.name()? != "xl/sharedStrings.xml" {
            out.raw_copy_file(part)?;
        }
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    out.start_file("xl/sharedStrings.xml", options)?;
    out.write_all(b"<sst>")?;
    let text = vec![b'x'; each];
    for _ in 0..parts {
        out.write_all(b"<si><t>")?;
        out.write_all(&text)?;
        out.write_all(b"</t></si>")?;
    }
    out.write_all(b"</sst>")?;
    Ok(out.finish()?.into_inner())
}

async fn import(c: &Caller, bytes: Vec<u8>, format: &str) -> anyhow::Result<(StatusCode, Value)> {
    let r = c
        .client
        .post(c.url(&format!("{CUSTOMERS}/import?format={format}")))
        .bearer_auth(&c.token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await?;
    let st = r.status();
    Ok((st, r.json().await.unwrap_or(Value::Null)))
}

fn message(v: &Value) -> String {
    let e = &v["error"];
    let mut s = e["message"].as_str().unwrap_or_default().to_owned();
    for f in e["fields"].as_array().into_iter().flatten() {
        s.push_str(&format!(" {}: {}", f["field"], f["message"]));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_that_inflate_past_the_limits_or_hold_no_rows_are_refused() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    // One cell of 20 MB: over the policy's text limit, found before anything is inflated into
    // memory.
    let bomb = inflating_xlsx(1, 20 * 1024 * 1024)?;
    assert!(bomb.len() < 400 * 1024, "{}", bomb.len());
    let (st, v) = import(&rep, bomb, "xlsx").await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["file"]);
    assert!(message(&v).contains("5000"), "{v}");
    // 300 MB in cells each within the limit: over what the file may inflate to.
    let bomb = inflating_xlsx(300 * 1024, 1024)?;
    let (st, v) = import(&rep, bomb, "xlsx").await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("200 MiB"), "{v}");
    // A header and no data: said, not reported as a success.
    let (st, v) = import(&rep, "客户全称,客户类型\r\n".as_bytes().to_vec(), "csv").await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("没有数据行"), "{v}");
    assert_eq!(rep.get(CUSTOMERS).await?.1["total"], 0);
    Ok(())
}

/// Sends a request whose headers declare `length` bytes of body but sends only a few, and
/// returns the status line the server answers with, if it answers within `wait`.
async fn declared_only(
    s: &TestServer,
    path: &str,
    token: &str,
    content_type: &str,
    length: u64,
    wait: Duration,
) -> anyhow::Result<Option<String>> {
    let addr = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n--x\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut buf = vec![0u8; 1024];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Ok(String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .map(str::to_owned)),
        _ => Ok(None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_over_the_limit_is_refused_by_its_declared_length_before_its_body() -> R {
    let s = TestServer::start().await?;
    let (rep, id) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let c = customer(&rep, "深圳精密五金有限公司").await?;
    let token = s.token(id).await?;
    // 20 MB declared against the policy's 10: answered at once, the body never read.
    let answer = declared_only(
        &s,
        &format!("{CUSTOMERS}/{}/attachments", c["id"]),
        &token,
        "multipart/form-data; boundary=x",
        20 * 1024 * 1024,
        Duration::from_secs(20),
    )
    .await?;
    assert!(
        answer.as_deref().is_some_and(|l| l.contains(" 422 ")),
        "{answer:?}"
    );
    // An import file declared over the policy's 50 MiB, likewise.
    let answer = declared_only(
        &s,
        &format!("{CUSTOMERS}/import?format=xlsx"),
        &token,
        "application/octet-stream",
        60 * 1024 * 1024,
        Duration::from_secs(20),
    )
    .await?;
    assert!(
        answer.as_deref().is_some_and(|l| l.contains(" 422 ")),
        "{answer:?}"
    );
    // A file one byte over the limit, within the declared-length slack, is read as a stream
    // and refused as soon as it passes the limit, naming the field.
    let big = vec![b'%'; 10 * 1024 * 1024 + 1];
    let (st, v) = rep
        .multipart(
            &format!("{CUSTOMERS}/{}/attachments", c["id"]),
            &[("kind", "business_licence")],
            Some(("licence.pdf", big)),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["file"]);
    // A field the form does not have is refused, not ignored.
    let (st, v) = rep
        .multipart(
            &format!("{CUSTOMERS}/{}/attachments", c["id"]),
            &[("kind", "business_licence"), ("knd", "x")],
            Some(("licence.pdf", b"%PDF-1.4".to_vec())),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["knd"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_page_number_answers_an_empty_page() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    customer(&admin, "北京石油化工有限公司").await?;
    let huge = "page=9223372036854775807&per_page=9223372036854775807";
    for list in [
        CUSTOMERS,
        "/api/v1/property/items",
        "/api/v1/property/consignment",
        "/api/v1/property/custody",
        "/api/v1/audit",
    ] {
        let (st, v) = admin.get(&format!("{list}?{huge}")).await?;
        assert_eq!(st, StatusCode::OK, "{list}: {v}");
        assert_eq!(v["items"], json!([]), "{list}");
    }
    for page in ["/customers", "/property", "/admin/audit"] {
        let (st, _) = admin.page(&format!("{page}?{huge}")).await?;
        assert_eq!(st, StatusCode::OK, "{page}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_naming_the_field_and_change_nothing() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (st, v) = rep
        .post(
            CUSTOMERS,
            json!({"full_name": "北京\u{0}石油", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["full_name"]);
    assert_eq!(rep.get(CUSTOMERS).await?.1["total"], 0);
    let c = customer(&rep, "北京石油化工有限公司").await?;
    let path = format!("{CUSTOMERS}/{}", c["id"]);
    let (st, v) = rep
        .patch(
            &path,
            json!({"version": c["version"], "notes": "a\u{1b}[31mred"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["notes"]);
    // Tab and line breaks are text.
    let (st, v) = rep
        .patch(
            &path,
            json!({"version": c["version"], "notes": "第一行\r\n第二行\t完"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = rep
        .post(&format!("{path}/contacts"), json!({"name": "张\u{0}三"}))
        .await?;
    assert_eq!(
        (st, fields(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()])
    );
    let (st, v) = rep
        .post(
            &format!("{path}/interactions"),
            json!({"kind": "visit", "summary": "拜访\u{0}"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["summary".to_owned()])
    );
    assert_eq!(
        rep.get(&format!("{path}/interactions")).await?.1["total"],
        0
    );
    // Signing in, before anyone is known.
    let r = s
        .client()
        .post(s.url("/api/v1/session"))
        .json(&json!({"username": "ad\u{0}min", "password": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.json().await?), ["username"]);
    // A search for it, too.
    let (st, v) = rep.get(&format!("{CUSTOMERS}?q=%00")).await?;
    assert_eq!(
        (st, fields(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["q".to_owned()])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_api_and_downloads_carry_the_security_headers() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let anonymous = s.client();
    let answers = [
        anonymous.get(s.url("/login")).send().await?,
        anonymous.get(s.url("/api/v1/me")).send().await?,
        anonymous.get(s.url("/no/such/page")).send().await?,
        anonymous.get(s.url("/assets/kehu.css")).send().await?,
        admin
            .client
            .get(admin.url("/api/v1/customers"))
            .bearer_auth(&admin.token)
            .send()
            .await?,
        admin
            .client
            .get(admin.url("/api/v1/customers/export?format=csv"))
            .bearer_auth(&admin.token)
            .send()
            .await?,
    ];
    for r in answers {
        let h = r.headers();
        let url = r.url().to_string();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{url}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{url}"
        );
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{url}"
        );
        assert_eq!(
            h.get("referrer-policy").map(|v| v.as_bytes()),
            Some(&b"same-origin"[..]),
            "{url}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_passwords_are_refused_in_the_callers_language() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    for weak in [
        "aaaaaaaaaa",
        "1234567890",
        "            ",
        "wangfang-2026!",
        "password1234",
    ] {
        let r = admin
            .client
            .post(admin.url("/api/v1/users"))
            .bearer_auth(&admin.token)
            .header("accept-language", "en")
            .json(&json!({"username": "wangfang", "roles": ["sales_rep"], "password": weak}))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        let v: Value = r.json().await?;
        assert_eq!(fields(&v), ["password"], "{weak:?}");
        let text = message(&v);
        assert!(
            text.contains("guess") || text.contains("user name"),
            "{weak:?}: {text}"
        );
    }
    let (st, v) = admin
        .post(
            "/api/v1/users",
            json!({"username": "wangfang", "roles": ["sales_rep"], "password": "Wangfang-2026!"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        message(&v).contains("不能包含用户名"),
        "Chinese by default: {v}"
    );
    let (st, v) = admin
        .post(
            "/api/v1/users",
            json!({"username": "wangfang", "roles": ["sales_rep"], "password": "amber-kettle-19-sparrow"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // The current password as the new one.
    let me = s.admin().await?;
    let r = me
        .post(s.url("/api/v1/me/password"))
        .json(&json!({"current_password": ADMIN_PASSWORD, "new_password": ADMIN_PASSWORD}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.json().await?), ["new_password"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_overlong_text_numbers_and_dates_out_of_range_are_refused() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (keeper, _) = Caller::new(&s, "keeper", &["warehouse"]).await?;
    let c = customer(&rep, "宁波红木家具有限公司").await?;
    let (st, k) = rep
        .post(
            "/api/v1/property/custody",
            json!({"customer_id": c["id"], "monthly_fee": "300", "start_date": "2026-01-01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let check_ins = format!("/api/v1/property/custody/{}/check-ins", k["id"]);
    // A misspelt date is refused, not taken as today.
    let (st, v) = keeper
        .post(
            &check_ins,
            json!({"item": "红木书柜", "unit": "件", "quantity": 2, "moved_onn": "2026-01-20"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["moved_onn"]);
    let (st, v) = keeper
        .post(
            &check_ins,
            json!({"item": "红木书柜", "unit": "件", "quantity": 9_223_372_036_854_775_807_i64}),
        )
        .await?;
    assert_eq!(
        (st, fields(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["quantity".to_owned()]
        )
    );
    let (_, k) = rep
        .get(&format!("/api/v1/property/custody/{}", k["id"]))
        .await?;
    assert_eq!(k["stock"], json!([]), "nothing was checked in: {k}");
    // A property notice line's quantity.
    let (st, v) = rep
        .post(
            "/api/v1/property/notices",
            json!({"customer_id": c["id"], "expected_on": "2026-12-20",
                   "lines": [{"kind": "raw_material", "item_name": "ABS 粒料", "quantity": 9_223_372_036_854_775_807_i64, "unit": "kg"}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["lines[0].quantity"]);
    // A 10 MB note.
    let path = format!("{CUSTOMERS}/{}", c["id"]);
    let (st, v) = rep
        .patch(
            &path,
            json!({"version": c["version"], "notes": "备".repeat(10 * 1024 * 1024 / 3)}),
        )
        .await?;
    assert_eq!(
        (st, fields(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["notes".to_owned()])
    );
    // Dates within 1900–2199.
    for (date, ok) in [
        ("1899-12-31", false),
        ("1900-01-01", true),
        ("2199-12-31", true),
        ("2200-01-01", false),
    ] {
        let (_, now) = rep.get(&path).await?;
        let (st, v) = rep
            .patch(
                &path,
                json!({"version": now["version"], "cooperation_start_date": date}),
            )
            .await?;
        if ok {
            assert_eq!(st, StatusCode::OK, "{date}: {v}");
        } else {
            assert_eq!(
                (st, fields(&v)),
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec!["cooperation_start_date".to_owned()]
                ),
                "{date}"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_limit_is_slowed_down_and_correct_passwords_still_sign_in() -> R {
    let s = TestServer::start().await?;
    s.add_user("wanghong", &["sales_rep"], None).await?;
    let limit = s
        .state
        .policy()
        .policy
        .security
        .login_max_failures_per_address;
    let attempt = |user: String, password: String| {
        let c = s.client();
        let url = s.url("/api/v1/session");
        async move {
            c.post(url)
                .json(&json!({"username": user, "password": password}))
                .send()
                .await
        }
    };
    // One user's own limit locks that user, and the 429 says when to retry.
    s.add_user("lisi", &["sales_rep"], None).await?;
    let per_user = s.state.policy().policy.security.login_max_failures;
    for _ in 0..per_user {
        attempt("lisi".into(), "wrong".into()).await?;
    }
    let r = attempt("lisi".into(), kehu::testing::password_of("lisi")).await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let lockout = i64::from(s.state.policy().policy.security.login_lockout_minutes) * 60;
    assert!(retry > 0 && retry <= lockout, "{retry}");
    // The office mistypes: many users, one address, as many failures as the address may have.
    for i in per_user..limit {
        let r = attempt(format!("staff{i}"), "wrong".into()).await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // A correct password still signs in…
    let r = attempt("wanghong".into(), kehu::testing::password_of("wanghong")).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    // …and a wrong one is answered (late), not refused.
    let r = attempt("staff0".into(), "wrong".into()).await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_roles_do_not_record_interactions() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let c = customer(&rep, "天津港务物流有限公司").await?;
    let path = format!("{CUSTOMERS}/{}/interactions", c["id"]);
    let (st, plan) = rep
        .post(
            &format!("{CUSTOMERS}/{}/visit-plans", c["id"]),
            json!({"planned_on": "2199-01-01", "purpose": "年度回访"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    let visit = json!({"kind": "visit", "summary": "已拜访", "visit_plan_id": plan["id"]});
    for role in ["executive", "warehouse"] {
        let (c, _) = Caller::new(&s, role, &[role]).await?;
        let (st, v) = c.post(&path, visit.clone()).await?;
        assert_eq!(st, StatusCode::FORBIDDEN, "{role}: {v}");
    }
    let (_, plans) = rep
        .get(&format!("{CUSTOMERS}/{}/visit-plans", c["id"]))
        .await?;
    assert_eq!(plans["items"][0]["status"], "planned", "{plans}");
    let (service, _) = Caller::new(&s, "cs", &["customer_service"]).await?;
    let (st, v) = service
        .post(&path, json!({"kind": "call", "summary": "客户来电咨询"}))
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_sees_phones_masked_cannot_find_a_customer_by_phone() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (quality, _) = Caller::new(&s, "qe", &["quality"]).await?;
    let name = "苏州工业园区电子有限公司";
    customer(&rep, name).await?;
    let by_phone = format!("{CUSTOMERS}?q={}", phone_of(name));
    assert_eq!(rep.get(&by_phone).await?.1["total"], 1);
    assert_eq!(quality.get(&by_phone).await?.1["total"], 0);
    // The name still finds it, phones masked.
    let (_, found) = quality.get(&format!("{CUSTOMERS}?q=苏州")).await?;
    assert_eq!(found["total"], 1, "{found}");
    let (_, contacts) = quality
        .get(&format!("{CUSTOMERS}/{}/contacts", found["items"][0]["id"]))
        .await?;
    assert!(
        !contacts.to_string().contains(&phone_of(name)),
        "{contacts}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_duplicate_is_not_raised_again_and_a_stale_edit_is_409_first() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    customer(&rep, "上海精密模具有限公司").await?;
    let twin = json!({"full_name": "上海精密模具有限公司", "customer_type": "dealer"});
    let (st, v) = rep.post(CUSTOMERS, twin.clone()).await?;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("possible_duplicate"))
    );
    let mut confirmed = twin.clone();
    confirmed["confirm_duplicates"] = json!(true);
    let (st, b) = rep.post(CUSTOMERS, confirmed).await?;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let path = format!("{CUSTOMERS}/{}", b["id"]);
    // An edit of the address is not asked about the name again.
    let (st, b2) = rep
        .patch(
            &path,
            json!({"version": b["version"], "address": "上海市松江区新桥镇"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{b2}");
    // A stale version is a stale version, whatever else the edit would meet.
    let (st, v) = rep
        .patch(
            &path,
            json!({"version": b["version"], "address": "上海市闵行区"}),
        )
        .await?;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    // Renaming to another customer's name asks again.
    customer(&rep, "上海精密机械有限公司").await?;
    let (st, v) = rep
        .patch(
            &path,
            json!({"version": b2["version"], "full_name": "上海精密机械有限公司"}),
        )
        .await?;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("possible_duplicate"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_deadlines_record_the_policy_version_that_computed_them() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let first = customer(&admin, "广州白云化工有限公司").await?;
    assert_eq!(first["completeness"]["policy_version"], 1, "{first}");
    let (_, current) = admin.get("/api/v1/policy").await?;
    let body = current["body"].as_str().unwrap_or_default().replacen(
        "basic_deadline_days = 3",
        "basic_deadline_days = 5",
        1,
    );
    let (st, v) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/policy",
            json!({"body": body, "comment": "建档期限放宽 / longer deadlines"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let second = customer(&admin, "广州番禺五金有限公司").await?;
    assert_eq!(second["completeness"]["policy_version"], 2, "{second}");
    let (_, first_again) = admin.get(&format!("{CUSTOMERS}/{}", first["id"])).await?;
    assert_eq!(first_again["completeness"]["policy_version"], 1);
    // The page says which version computed them.
    let (_, page) = admin.page(&format!("/customers/{}", second["id"])).await?;
    assert!(page.contains("制度第 2 版"), "{page}");
    Ok(())
}

/// The history section of a record page.
fn history_of(page: &str) -> &str {
    page.split("id=\"history\"").nth(1).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_history_reads_in_the_policys_words_and_peoples_names() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let (rep, zhangwei) = Caller::new(&s, "zhangwei", &["sales_rep"]).await?;
    let lina = s.add_user("lina", &["sales_rep"], None).await?;
    for (id, name) in [(zhangwei, "张伟"), (lina, "李娜")] {
        kehu::platform::auth::update_user(
            &s.state,
            &kehu::platform::audit::AuditActor::system(),
            id,
            kehu::platform::auth::UserPatch {
                version: 1,
                display_name: Some(name.into()),
                ..Default::default()
            },
        )
        .await?;
    }
    let (st, c) = rep
        .post(
            CUSTOMERS,
            json!({"full_name": "北京燕山石化有限公司", "customer_type": "dealer", "region": "north",
                   "contact_name": "赵强", "contact_phone": "13811112222"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let path = format!("{CUSTOMERS}/{}", c["id"]);
    rep.patch(&path, json!({"version": c["version"], "stage": "new"}))
        .await?;
    rep.post(
        &format!("{path}/interactions"),
        json!({"kind": "visit", "summary": "上门拜访"}),
    )
    .await?;
    let (st, v) = admin
        .post(
            &format!("{CUSTOMERS}/transfer"),
            json!({"customer_ids": [c["id"]], "to_owner_id": lina, "reason": "员工调离"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, page) = admin.page(&format!("/customers/{}", c["id"])).await?;
    assert_eq!(st, StatusCode::OK);
    let history = history_of(&page);
    for words in [
        "经销商",
        "华北",
        "潜在",
        "新客户",
        "拜访",
        "李娜",
        "张伟",
        "客户经理",
        "移交",
    ] {
        assert!(history.contains(words), "{words} missing from {history}");
    }
    for code in [
        "dealer",
        ">north",
        "potential",
        "visit ",
        "→ <ins>3",
        "owner_id",
        "zhangwei",
    ] {
        assert!(!history.contains(code), "{code} shown in {history}");
    }
    // A role that sees phones masked reads them masked in the history too, page and API.
    let (quality, _) = Caller::new(&s, "qe", &["quality"]).await?;
    let (_, k) = admin.get(&format!("{path}/contacts")).await?;
    let (st, v) = admin
        .patch(
            &format!("/api/v1/contacts/{}", k["items"][0]["id"]),
            json!({"version": k["items"][0]["version"], "phones": "13933334444"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, page) = quality.page(&format!("/customers/{}", c["id"])).await?;
    let (_, api) = quality.get(&format!("{path}/history")).await?;
    for shown in [history_of(&page).to_owned(), api.to_string()] {
        assert!(
            !shown.contains("13933334444") && !shown.contains("13811112222"),
            "{shown}"
        );
        assert!(shown.contains("139****4444"), "{shown}");
    }
    Ok(())
}

#[test]
fn the_openapi_document_declares_what_the_server_takes() -> R {
    let doc = serde_json::to_value(kehu::app::openapi())?;
    // Every path parameter is in its path; list filters are query parameters.
    let mut declared_in_query = 0;
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                match p["in"].as_str() {
                    Some("path") => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name} is no path parameter"
                    ),
                    Some("query") => declared_in_query += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(declared_in_query >= 41, "{declared_in_query}");
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let body = |path: &str, method: &str| {
        let r = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        schema(&r)
    };
    // A create needs the name and the type; an edit needs neither.
    let create = body("/api/v1/customers", "post");
    assert_eq!(
        create["required"],
        json!(["full_name", "customer_type"]),
        "{create}"
    );
    let edit = body("/api/v1/customers/{id}", "patch");
    assert!(
        edit["required"].as_array().is_none_or(|r| r.is_empty()),
        "{edit}"
    );
    // Custody goods are described as what they are, not as a policy check's `{body}`.
    let goods = body("/api/v1/property/custody/{id}/check-ins", "post");
    for field in ["item", "quantity", "moved_on", "item_id"] {
        assert!(goods["properties"].get(field).is_some(), "{field}: {goods}");
    }
    // An agreement's customer carries its full name.
    assert!(
        schema("AgreementCustomer")["properties"]
            .get("full_name")
            .is_some()
    );
    Ok(())
}
