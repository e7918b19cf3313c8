//! The customer archive through the API, on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use chrono::{TimeZone, Utc};
use kehu::platform::clock::Clock;
use kehu::testing::{Caller, TestServer, fields, password_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// What a caller's searches for each of `queries` total; a query may add
/// filters after `&` (`海天&stage=active`).
async fn totals(caller: &Caller, queries: &[&str]) -> anyhow::Result<Vec<i64>> {
    let mut out = Vec::new();
    for query in queries {
        let (q, filters) = query.split_once('&').unwrap_or((query, ""));
        let url = format!("/api/v1/customers?q={}&{filters}", urlencoding::encode(q));
        out.push(caller.get(&url).await?.1["total"].as_i64().unwrap_or(-1));
    }
    Ok(out)
}

/// A signed-in API caller.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_check_character_is_refused_and_the_customer_is_found_by_pinyin() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let body = json!({"full_name": "北京石油化工有限公司", "customer_type": "dealer", "credit_code": "91350100M000100Y44",
        "contact_name": "张三", "contact_phone": "+86 138-1234-5678"});
    let (st, e) = rep.post("/api/v1/customers", body.clone()).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&e), vec!["credit_code"]);
    assert!(
        e["error"]["fields"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("校验码"),
        "{e}"
    );
    assert_eq!(
        rep.get("/api/v1/customers").await?.1["total"],
        0,
        "nothing was saved"
    );

    let mut fixed = body.clone();
    fixed["credit_code"] = json!("91350100M000100Y43");
    let (st, c) = rep.post("/api/v1/customers", fixed).await?;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert!(c["code"].as_str().unwrap_or("").starts_with("C2026"), "{c}");
    assert_eq!(c["mnemonic"], "bjsyhgyxgs");
    for q in [
        "bjsy",
        "beijingshiyou",
        "石油",
        "北京石油化工",
        "13812345678",
        "91350100M000100Y43",
        c["code"].as_str().unwrap_or(""),
    ] {
        let (_, found) = rep
            .get(&format!("/api/v1/customers?q={}", urlencoding::encode(q)))
            .await?;
        assert_eq!(found["total"], 1, "search {q}: {found}");
    }
    let (_, none) = rep
        .get(&format!(
            "/api/v1/customers?q={}",
            urlencoding::encode("上海")
        ))
        .await?;
    assert_eq!(none["total"], 0);
    // The contact's phone was normalised.
    let (_, contacts) = rep
        .get(&format!("/api/v1/customers/{}/contacts", c["id"]))
        .await?;
    assert_eq!(contacts["items"][0]["phones"], json!(["13812345678"]));
    Ok(())
}

/// A sales manager `mgr` and the team it manages, made by the admin.
async fn manager_of_a_team(
    s: &TestServer,
    admin: &Caller,
) -> anyhow::Result<(Caller, Option<i64>)> {
    let (mgr, mgr_id) = Caller::new(s, "mgr", &["sales_manager"]).await?;
    let (st, team) = admin
        .post(
            "/api/v1/teams",
            json!({"name": "华东销售部", "manager_id": mgr_id}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{team}");
    Ok((mgr, team["id"].as_i64()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reps_see_only_their_own_managers_their_team_and_transfers_move_both() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let (mgr, team_id) = manager_of_a_team(&s, &admin).await?;
    let (rep_a, a_id) = Caller::in_team(&s, "rep_a", &["sales_rep"], team_id).await?;
    let (rep_b, b_id) = Caller::new(&s, "rep_b", &["sales_rep"]).await?;
    let (st, c) = rep_a.post("/api/v1/customers", json!({"full_name": "苏州恒达精密模具有限公司", "customer_type": "direct_manufacturer"})).await?;
    assert_eq!(st, StatusCode::CREATED);
    let path = format!("/api/v1/customers/{}", c["id"]);

    // Another rep: 404 in API and page, and not in its list.
    assert_eq!(rep_b.get(&path).await?.0, StatusCode::NOT_FOUND);
    assert_eq!(rep_b.get("/api/v1/customers").await?.1["total"], 0);
    let page = s.login("rep_b", &password_of("rep_b")).await?;
    assert_eq!(
        page.get(s.url(&format!("/customers/{}", c["id"])))
            .send()
            .await?
            .status(),
        StatusCode::NOT_FOUND
    );
    // Its manager sees and edits it.
    let (st, seen) = mgr.get(&path).await?;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = mgr
        .patch(
            &path,
            json!({"version": seen["version"], "stage": "active"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    // A manager may not hand customers to someone outside the team.
    let (st, e) = mgr
        .post(
            "/api/v1/customers/transfer",
            json!({"customer_ids": [c["id"]], "to_owner_id": b_id, "reason": "员工调离"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Transfer needs a reason.
    let (st, e) = admin
        .post(
            "/api/v1/customers/transfer",
            json!({"from_owner_id": a_id, "all": true, "to_owner_id": b_id, "reason": " "}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason".to_owned()])
    );
    let (st, r) = admin
        .post(
            "/api/v1/customers/transfer",
            json!({"from_owner_id": a_id, "all": true, "to_owner_id": b_id, "reason": "员工调离"}),
        )
        .await?;
    assert_eq!((st, r["transferred"].clone()), (StatusCode::OK, json!(1)));
    assert_eq!(rep_b.get(&path).await?.0, StatusCode::OK);
    // A search finds it where it is now: the index knows the owner and shares.
    let found = |caller| totals(caller, &["恒达精密", "恒", "szhd", "suzhouhengda"]);
    assert_eq!(found(&rep_b).await?, vec![1; 4]);
    assert_eq!(found(&rep_a).await?, vec![0; 4]);
    assert_eq!(found(&mgr).await?, vec![0; 4]);
    assert_eq!(rep_a.get(&path).await?.0, StatusCode::NOT_FOUND);
    let (_, owners) = rep_b.get(&format!("{path}/owners")).await?;
    let names: Vec<&str> = owners["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["owner"]["username"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["rep_a", "rep_b"]);
    assert_eq!(owners["items"][1]["reason"], "员工调离");
    assert!(owners["items"][0]["to_at"].is_string());
    let (_, history) = rep_b.get(&format!("{path}/history")).await?;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, vec!["transfer", "update", "create"]);
    assert_eq!(history["items"][0]["reason"], "员工调离");
    // Sharing gives another rep access; unsharing takes it away.
    let (st, _) = rep_b
        .post(&format!("{path}/shares"), json!({"user_id": a_id}))
        .await?;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(rep_a.get(&path).await?.0, StatusCode::OK);
    assert_eq!(found(&rep_a).await?, vec![1; 4]);
    let r = rep_b
        .client
        .delete(format!("{}{path}/shares/{a_id}", s.base))
        .bearer_auth(&rep_b.token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(rep_a.get(&path).await?.0, StatusCode::NOT_FOUND);
    assert_eq!(found(&rep_a).await?, vec![0; 4]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_refused_or_confirmed() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (other, _) = Caller::new(&s, "other", &["sales_rep"]).await?;
    let (st, first) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "佛山市美信电器有限公司", "customer_type": "dealer",
        "credit_code": "91440606MA4UJ8XX24", "contact_name": "陈", "contact_phone": "13900002222"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    // Same credit code: refused with the existing customer and its owner named, even for another rep.
    let (st, e) = other.post("/api/v1/customers", json!({"full_name": "另一家公司", "customer_type": "dealer", "credit_code": "91440606MA4UJ8XX24"})).await?;
    assert_eq!(st, StatusCode::CONFLICT);
    let msg = e["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(first["code"].as_str().unwrap_or("?")) && msg.contains("rep"),
        "{e}"
    );
    // Same name once the legal form is ignored: a warning that shows the match.
    let (st, e) = other
        .post(
            "/api/v1/customers",
            json!({"full_name": "佛山市美信电器公司", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(
        (st, e["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("possible_duplicate"))
    );
    assert!(
        e["error"]["fields"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("佛山市美信电器有限公司"),
        "{e}"
    );
    // Same phone: a warning too.
    let (st, e) = other.post("/api/v1/customers", json!({"full_name": "完全不同的名字", "customer_type": "dealer", "contact_name": "王", "contact_phone": "139 0000 2222"})).await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::CONFLICT, vec!["contact_phone".to_owned()])
    );
    // Confirming a possible duplicate does not get past the same credit code.
    let (st, e) = other.post("/api/v1/customers", json!({"full_name": "佛山市美信电器公司", "customer_type": "dealer", "credit_code": "91440606MA4UJ8XX24", "confirm_duplicates": true})).await?;
    assert_eq!(
        (st, e["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("conflict")),
        "{e}"
    );
    // Confirmed, it saves.
    let (st, _) = other.post("/api/v1/customers", json!({"full_name": "佛山市美信电器公司", "customer_type": "dealer", "confirm_duplicates": true})).await?;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(other.get("/api/v1/customers").await?.1["total"], 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_of_two_concurrent_edits_gets_409() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (_, c) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "重庆钢铁股份有限公司", "customer_type": "dealer"}),
        )
        .await?;
    let path = format!("/api/v1/customers/{}", c["id"]);
    let (a, b) = tokio::join!(
        rep.patch(&path, json!({"version": 1, "address": "重庆市大渡口区"})),
        rep.patch(&path, json!({"version": 1, "address": "重庆市长寿区"}))
    );
    let (a, b) = (a?, b?);
    let mut statuses = vec![a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CONFLICT]);
    let winner = if a.0 == StatusCode::OK { a.1 } else { b.1 };
    let (_, now) = rep.get(&path).await?;
    assert_eq!(now["address"], winner["address"]);
    assert_eq!(now["version"], 2);
    // Pinyin of a place-name heteronym: 重庆 is chongqing.
    assert!(
        now["mnemonic"].as_str().unwrap_or("").starts_with("cq"),
        "{now}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_all_roles_read_without_editing_and_see_masked_phones() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (quality, _) = Caller::new(&s, "qe", &["quality"]).await?;
    let (service, _) = Caller::new(&s, "cs", &["customer_service"]).await?;
    let (_, c) = rep.post("/api/v1/customers", json!({"full_name": "无锡华光锅炉有限公司", "customer_type": "dealer", "contact_name": "赵", "contact_phone": "13712345678"})).await?;
    let path = format!("/api/v1/customers/{}", c["id"]);
    assert_eq!(quality.get(&path).await?.0, StatusCode::OK);
    assert_eq!(
        quality
            .patch(&path, json!({"version": 1, "address": "x"}))
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, masked) = quality.get(&format!("{path}/contacts")).await?;
    assert_eq!(masked["items"][0]["phones"], json!(["137****5678"]));
    let (_, full) = service.get(&format!("{path}/contacts")).await?;
    assert_eq!(full["items"][0]["phones"], json!(["13712345678"]));
    // Customer service may log a call on any customer it sees.
    let (st, _) = service
        .post(
            &format!("{path}/interactions"),
            json!({"kind": "call", "summary": "客户来电询问交期"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    Ok(())
}

/// Seven or more digits find the customers with a phone that starts with
/// them and those whose credit code does, in the searcher's scope; an
/// exact phone ranks first; a role that sees phones masked finds credit
/// codes only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_find_phones_and_credit_code_starts_in_every_scope() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let (mgr, team_id) = manager_of_a_team(&s, &admin).await?;
    let (rep, _) = Caller::in_team(&s, "rep", &["sales_rep"], team_id).await?;
    let (other, _) = Caller::new(&s, "other", &["sales_rep"]).await?;
    let (quality, _) = Caller::new(&s, "qe", &["quality"]).await?;
    let mut ids = Vec::new();
    for (name, credit, phone) in [
        (
            "宁波海天塑机集团有限公司",
            "91330200123456789Q",
            "13957488888",
        ),
        ("宁波方太厨具有限公司", "91350100M000100Y43", "13957488889"),
        (
            "杭州老板电器股份有限公司",
            "13957488888123456L",
            "13800001111",
        ),
    ] {
        let (st, c) = rep
            .post(
                "/api/v1/customers",
                json!({"full_name": name, "customer_type": "dealer", "credit_code": credit,
                       "contact_name": "李工", "contact_phone": phone}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        ids.push(c["id"].clone());
    }
    let queries = [
        "9133020",      // seven characters of a credit code
        "91330200",     // eight
        "913302001234", // twelve: the row's credit code decides
        "913302009",
        "1395748", // two phones, and a credit code
        "13957488889",
        "13957488888", // a phone, and the start of a credit code
        "1380000",
    ];
    let owner = vec![1, 1, 1, 0, 3, 1, 2, 1];
    assert_eq!(totals(&rep, &queries).await?, owner, "owner");
    assert_eq!(totals(&mgr, &queries).await?, owner, "manager");
    assert_eq!(totals(&admin, &queries).await?, owner, "admin");
    assert_eq!(totals(&other, &queries).await?, vec![0; 8], "another rep");
    assert_eq!(
        totals(&quality, &queries).await?,
        vec![1, 1, 1, 0, 1, 0, 1, 0],
        "phones masked: credit codes only"
    );
    // The exact phone first, whatever the sort.
    for sort in ["-updated", "updated", "name", "-code"] {
        let (_, found) = rep
            .get(&format!("/api/v1/customers?q=13957488888&sort={sort}"))
            .await?;
        assert_eq!(found["items"][0]["id"], ids[0], "{sort}: {found}");
        assert_eq!(found["items"][1]["id"], ids[2], "{sort}: {found}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_deadlines_count_working_days_and_overdue_archives_are_listed() -> R {
    // Tuesday 2026-09-29 10:00 in Beijing, just before the National Day holiday.
    let start = Utc
        .with_ymd_and_hms(2026, 9, 29, 2, 0, 0)
        .single()
        .expect("time");
    let s = TestServer::start_with_clock(Clock::fixed(start)).await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (_, c) = rep.post("/api/v1/customers", json!({"full_name": "杭州西子电梯有限公司", "customer_type": "dealer", "region": "east"})).await?;
    let comp = &c["completeness"];
    let missing: Vec<&str> = comp["missing_basic"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(missing, vec!["address", "contacts"]);
    // 3 working days: 30 Sep, then Oct 1–7 off, 8 and 9 Oct → end of 9 Oct (17:30 Beijing).
    assert_eq!(comp["basic_due_at"], "2026-10-09T09:30:00Z");
    assert_eq!(comp["overdue"], false);
    assert_eq!(
        rep.get("/api/v1/customers?overdue=true").await?.1["total"],
        0
    );
    s.clock.set(
        Utc.with_ymd_and_hms(2026, 10, 10, 2, 0, 0)
            .single()
            .expect("time"),
    );
    let rep = Caller {
        token: s.token(2).await?,
        ..rep
    };
    let (_, overdue) = rep.get("/api/v1/customers?overdue=true").await?;
    assert_eq!(overdue["total"], 1);
    // The rep's home page lists it as a task.
    let browser = s.login("rep", &password_of("rep")).await?;
    let home = browser.get(s.url("/")).send().await?.text().await?;
    assert!(
        home.contains("1 个客户档案已超过建档期限"),
        "home shows the overdue archive"
    );
    // Filling the basic fields clears the basic deadline.
    let path = format!("/api/v1/customers/{}", c["id"]);
    rep.patch(&path, json!({"version": 1, "address": "杭州市拱墅区"}))
        .await?;
    rep.post(
        &format!("{path}/contacts"),
        json!({"name": "钱", "phones": "0571-88886666"}),
    )
    .await?;
    let (_, now) = rep.get(&path).await?;
    assert_eq!(now["completeness"]["missing_basic"], json!([]));
    assert_eq!(now["completeness"]["overdue"], false, "{now}");
    assert_eq!(
        rep.get("/api/v1/customers?overdue=true").await?.1["total"],
        0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_every_field_and_changes_nothing() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (st, e) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "", "customer_type": "wholesaler", "registered_capital": "五百万",
        "first_contact_date": "2026-13-01", "contact_phone": "12345"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let mut f = fields(&e);
    f.sort();
    assert_eq!(
        f,
        vec![
            "contact_name",
            "contact_phone",
            "customer_type",
            "first_contact_date",
            "full_name",
            "registered_capital"
        ]
    );
    assert_eq!(rep.get("/api/v1/customers").await?.1["total"], 0);
    let (_, c) = rep.post("/api/v1/customers", json!({"full_name": "天津渤海化工有限公司", "customer_type": "dealer", "registered_capital": "50,000,000.00"})).await?;
    assert_eq!(c["registered_capital"], "50000000.00");
    let path = format!("/api/v1/customers/{}", c["id"]);
    // A visit plan, then the visit that completes it; a visit in the future is refused.
    let (st, plan) = rep
        .post(
            &format!("{path}/visit-plans"),
            json!({"planned_on": "2030-01-15", "purpose": "年度拜访"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    let (st, e) = rep
        .post(
            &format!("{path}/interactions"),
            json!({"kind": "visit", "occurred_on": "2099-01-01", "summary": "x"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["occurred_on".to_owned()]
        )
    );
    let (st, _) = rep.post(&format!("{path}/interactions"), json!({"kind": "visit", "summary": "拜访采购部，确认明年需求", "visit_plan_id": plan["id"], "next_step": "报价", "next_step_on": "2030-02-01"})).await?;
    assert_eq!(st, StatusCode::CREATED);
    let (_, plans) = rep.get(&format!("{path}/visit-plans")).await?;
    assert_eq!(plans["items"][0]["status"], "done");
    let (_, history) = rep.get(&format!("{path}/history")).await?;
    assert_eq!(history["total"], 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_checked_stored_and_served_in_scope() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (other, _) = Caller::new(&s, "other", &["sales_rep"]).await?;
    let (_, c) = rep.post("/api/v1/customers", json!({"full_name": "宁波海天塑机集团有限公司", "customer_type": "direct_manufacturer"})).await?;
    let path = format!("{}/api/v1/customers/{}/attachments", s.base, c["id"]);
    let missing: Vec<Value> = c["completeness"]["missing_full"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(missing.contains(&json!("business_licence")));
    let upload = |kind: &str, name: &str, data: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(data).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .text("kind", kind.to_owned())
            .part("file", part);
        rep.client
            .post(&path)
            .bearer_auth(&rep.token)
            .multipart(form)
            .send()
    };
    // An executable renamed to .pdf is refused; so is a type the policy does not list.
    let r = upload(
        "business_licence",
        "营业执照.pdf",
        b"MZ\x90\x00not a pdf".to_vec(),
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await?;
    assert_eq!(fields(&e), vec!["file"]);
    let r = upload("business_licence", "licence.exe", b"MZ".to_vec()).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Larger than the policy allows.
    let big = [b"%PDF-1.4 ".to_vec(), vec![b' '; 10 * 1024 * 1024 + 1]].concat();
    let r = upload("business_licence", "big.pdf", big).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("MiB"));
    // A real one.
    let pdf = b"%PDF-1.4\n% scan of the business licence\n".to_vec();
    let r = upload("business_licence", "营业执照.pdf", pdf.clone()).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await?;
    let (_, now) = rep.get(&format!("/api/v1/customers/{}", c["id"])).await?;
    let missing: Vec<Value> = now["completeness"]["missing_full"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!missing.contains(&json!("business_licence")), "{now}");
    // Downloadable by those in scope, byte for byte; 404 for others.
    let r = rep
        .client
        .get(format!("{}/api/v1/attachments/{}", s.base, a["id"]))
        .bearer_auth(&rep.token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .contains("filename*=UTF-8''")
    );
    assert_eq!(r.bytes().await?.to_vec(), pdf);
    assert_eq!(
        other
            .get(&format!("/api/v1/attachments/{}", a["id"]))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_edited_and_deleted_from_the_customer_page() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (st, c) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "无锡华光锅炉有限公司", "customer_type": "dealer",
                   "contact_name": "王五", "contact_phone": "13900001111"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    let cid = c["id"].as_i64().unwrap_or_default();
    let (_, contacts) = rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await?;
    let k = contacts["items"][0].clone();
    let kid = k["id"].as_i64().unwrap_or_default();
    let page = s.login("rep", &password_of("rep")).await?;
    let html = page
        .get(s.url(&format!("/customers/{cid}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains(&format!("/customers/{cid}/contacts/{kid}")),
        "edit form on the page"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let version = k["version"].to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("name", "王五"),
        ("title", "采购经理"),
        ("phones", "13900001111, 0510-88886666"),
    ];
    let r = page
        .post(s.url(&format!("/customers/{cid}/contacts/{kid}")))
        .form(&form)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, contacts) = rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await?;
    assert_eq!(contacts["items"][0]["title"], "采购经理");
    assert_eq!(
        contacts["items"][0]["phones"].as_array().map(Vec::len),
        Some(2)
    );
    // The same form again carries a stale version: refused, nothing changes.
    let stale = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("name", "赵六"),
    ];
    let r = page
        .post(s.url(&format!("/customers/{cid}/contacts/{kid}")))
        .form(&stale)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (_, contacts) = rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await?;
    assert_eq!(contacts["items"][0]["name"], "王五");
    // Another customer's address does not reach this contact.
    let (_, other) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "常州天合光能有限公司", "customer_type": "dealer"}),
        )
        .await?;
    let r = page
        .post(s.url(&format!("/customers/{}/contacts/{kid}/delete", other["id"])))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = page
        .post(s.url(&format!("/customers/{cid}/contacts/{kid}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, contacts) = rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await?;
    assert_eq!(contacts["total"], 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_character_search_keeps_the_other_filters_and_its_total() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    for (name, kind) in [
        ("苏州恒达精密模具有限公司", "dealer"),
        ("无锡恒达机械有限公司", "retailer"),
        ("常州达恒电子有限公司", "dealer"),
    ] {
        let (st, _) = admin
            .post(
                "/api/v1/customers",
                json!({"full_name": name, "customer_type": kind}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED);
    }
    let q = |path: &str| format!("/api/v1/customers?{path}");
    let (_, all) = admin.get(&q("q=恒达")).await?;
    assert_eq!(all["total"], 2, "the term index's total: {all}");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    let (_, dealers) = admin.get(&q("q=恒达&customer_type=dealer")).await?;
    assert_eq!(dealers["total"], 1, "{dealers}");
    assert_eq!(dealers["items"][0]["full_name"], "苏州恒达精密模具有限公司");
    let (_, longer) = admin.get(&q("q=恒达精")).await?;
    assert_eq!(longer["total"], 1);
    let (_, apart) = admin.get(&q("q=达恒")).await?;
    assert_eq!(apart["total"], 1, "{apart}");
    // Pinyin initials and full pinyin, counted from the term index.
    let (_, py) = admin.get(&q("q=wxhd")).await?;
    assert_eq!(py["total"], 1, "{py}");
    assert_eq!(py["items"][0]["full_name"], "无锡恒达机械有限公司");
    let (_, py) = admin.get(&q("q=wuxi")).await?;
    assert_eq!(py["total"], 1, "{py}");
    let (_, py) = admin.get(&q("q=wxhd&customer_type=dealer")).await?;
    assert_eq!(py["total"], 0, "{py}");
    // The owner filter, on the index with and without text; an id no user
    // has (negative, zero, the largest) finds nothing rather than failing.
    let me = all["items"][0]["owner_id"].as_i64().unwrap_or_default();
    for (filters, total) in [
        (format!("owner_id={me}"), 3),
        (format!("q=恒达&owner_id={me}"), 2),
        (format!("owner_id={}", i64::MIN), 0),
        (format!("q=恒达&owner_id={}", i64::MIN), 0),
        ("owner_id=-1&customer_type=dealer".into(), 0),
        ("q=wxhd&owner_id=0".into(), 0),
        (format!("owner_id={}", i64::MAX), 0),
    ] {
        let (st, page) = admin.get(&q(&filters)).await?;
        assert_eq!(st, StatusCode::OK, "{filters}: {page}");
        assert_eq!(page["total"], total, "{filters}: {page}");
    }
    Ok(())
}

/// A text too common for the index to drive, whose matches all sit at the
/// far end of the chosen order (every 中恒达 after every 安顺 by name): the
/// page holds the first matches in that order, whichever end it starts at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_common_text_gathered_at_one_end_of_the_order_is_paged_in_order() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    // More than the index drives (200 at this size), behind more rows
    // than a page of evenly spread matches would read.
    let (others, matches) = (420, 210);
    for i in 0..others + matches {
        let name = if i < others {
            format!("安顺{i:03}五金店")
        } else {
            format!("中恒达{:03}机电有限公司", i - others)
        };
        let (st, c) = admin
            .post(
                "/api/v1/customers",
                json!({"full_name": name, "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
    }
    let expect = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|n| format!("中恒达{n:03}机电有限公司")).collect()
    };
    let mut reversed = expect(matches - 20..matches);
    reversed.reverse();
    for q in ["恒达", "机电有限", "zhd", "zhonghengda"] {
        for (sort, page, want) in [
            ("name", 1, expect(0..20)),
            ("name", 3, expect(40..60)),
            ("-name", 1, reversed.clone()),
            ("created", 1, expect(0..20)),
        ] {
            let q = urlencoding::encode(q);
            let url = format!("/api/v1/customers?q={q}&sort={sort}&page={page}&per_page=20");
            let (_, found) = admin.get(&url).await?;
            let names: Vec<&str> = found["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["full_name"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(names, want, "{url}");
            assert_eq!(found["total"], matches, "{url}");
        }
    }
    Ok(())
}

/// A name text ranks the names that start with it (full or short name)
/// before the other matches, each part in the chosen order, across page
/// boundaries: a common start (walked along the sort index), a rare one
/// (looked up on the index) and one longer than the index's three
/// characters (checked on the row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_start_with_the_text_rank_before_the_other_matches() -> R {
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    // Interleaved, so that the code order mixes the two kinds.
    let mut starting = Vec::new();
    let mut inside = Vec::new();
    for i in 0..260 {
        let (full, short) = match i % 13 {
            11 => (format!("深圳华强{:02}科技有限公司", inside.len()), None),
            12 => (
                format!("东莞新华强{i:03}实业有限公司"),
                Some(format!("华强{i:03}实业")),
            ),
            _ => (format!("华强电{i:03}子商行"), None),
        };
        let (st, c) = admin
            .post(
                "/api/v1/customers",
                json!({"full_name": full, "short_name": short, "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        if i % 13 == 11 {
            inside.push(full);
        } else {
            starting.push(full);
        }
    }
    // Names that hold a longer text whose first three characters start
    // more names than the index drives, while the text starts fewer.
    for j in 0..8 {
        let full = format!("深圳华强电0{j}实业有限公司");
        let (st, c) = admin
            .post(
                "/api/v1/customers",
                json!({"full_name": full, "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        inside.push(full);
    }
    let page = |q: &str, sort: &str, page: usize, per_page: usize| {
        let url = format!(
            "/api/v1/customers?q={}&sort={sort}&page={page}&per_page={per_page}",
            urlencoding::encode(q)
        );
        let admin = &admin;
        async move {
            let (_, found) = admin.get(&url).await?;
            let names: Vec<String> = found["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c["full_name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            anyhow::Ok((names, found["total"].as_u64().unwrap_or(0), url))
        }
    };
    // By code (the order of creation): the starts, then the others.
    let ranked: Vec<String> = starting.iter().chain(&inside).cloned().collect();
    assert!(
        starting.len() >= 200,
        "more than the index drives at this size"
    );
    for (q, want) in [
        ("华强", ranked.clone()),
        // Rare starts: 华强0… and 华强01…, the others holding them inside.
        (
            "华强0",
            ranked
                .iter()
                .filter(|n| n.contains("华强0"))
                .cloned()
                .collect(),
        ),
        (
            "华强01",
            ranked
                .iter()
                .filter(|n| n.contains("华强01"))
                .cloned()
                .collect(),
        ),
        // Longer than the index's three characters, a common 华强电 first.
        (
            "华强电0",
            ranked
                .iter()
                .filter(|n| n.contains("华强电0"))
                .cloned()
                .collect(),
        ),
    ] {
        let per_page = 7;
        for p in 1..=want.len().div_ceil(per_page) + 1 {
            let (names, total, url) = page(q, "code", p, per_page).await?;
            let expect: Vec<String> = want
                .iter()
                .skip((p - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            assert_eq!(names, expect, "{url}");
            assert_eq!(total, want.len() as u64, "{url}");
        }
    }
    let starting_electronics = starting.iter().filter(|n| n.starts_with("华强电")).count();
    assert!(starting_electronics >= 200, "{starting_electronics}");
    // A short name that starts with it ranks as a full name does.
    let (names, _, url) = page("华强012", "code", 1, 5).await?;
    assert_eq!(names, ["东莞新华强012实业有限公司"], "{url}");
    // Reversed: each part reversed, the starts still first.
    let mut starts_reversed: Vec<String> = starting.clone();
    starts_reversed.reverse();
    let mut inside_reversed: Vec<String> = inside.clone();
    inside_reversed.reverse();
    let want: Vec<String> = starts_reversed.into_iter().chain(inside_reversed).collect();
    let boundary = starting.len() / 17 + 1;
    for p in [1, boundary, boundary + 1] {
        let (names, _, url) = page("华强", "-code", p, 17).await?;
        let expect: Vec<String> = want.iter().skip((p - 1) * 17).take(17).cloned().collect();
        assert_eq!(names, expect, "{url}");
    }
    Ok(())
}

/// The hot reads (token, session, one customer) run inline on SQLite and
/// through the pool on PostgreSQL; both paths give the same models, nulls
/// and dates included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_give_the_same_models_inline_and_through_the_pool() -> R {
    use kehu::customers::store as customer_store;
    use kehu::customers::store::Scope;
    use kehu::platform::auth::store as auth_store;
    use kehu::platform::reads::Reads;
    use sea_orm::EntityTrait;
    let s = TestServer::start().await?;
    assert_eq!(s.state.reads.is_inline(), !s.db.is_postgres());
    let pool = Reads::pooled(s.state.db.clone());
    let admin = Caller::admin(&s).await?;
    let (st, full) = admin
        .post(
            "/api/v1/customers",
            json!({"full_name": "杭州精密机械有限公司", "short_name": "杭精", "customer_type": "dealer",
                "credit_code": "91350100M000100Y43", "registered_capital": "1000000.00",
                "first_contact_date": "2025-03-01", "tags": "重点", "notes": "备注",
                "contact_name": "张三", "contact_phone": "13812345678"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{full}");
    let (st, bare) = admin
        .post(
            "/api/v1/customers",
            json!({"full_name": "宁波电器有限公司", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{bare}");
    for c in [&full, &bare] {
        let id = c["id"].as_i64().unwrap_or(0);
        let inline = customer_store::get_with_extras(&s.state.reads, &Scope::All, id).await?;
        let pooled = customer_store::get_with_extras(&pool, &Scope::All, id).await?;
        assert!(inline.is_some(), "customer {id}");
        assert_eq!(inline, pooled, "customer {id}");
    }
    let absent = customer_store::get_with_extras(&s.state.reads, &Scope::All, 999_999).await?;
    assert!(absent.is_none());

    let token = s.token(1).await?;
    let hash = kehu::platform::auth::password::sha256_hex(&token);
    let inline = auth_store::token_with_user(&s.state.reads, &hash).await?;
    assert!(inline.is_some());
    assert_eq!(inline, auth_store::token_with_user(&pool, &hash).await?);
    let _browser = s.admin().await?;
    let session = kehu::platform::schema::sessions::Entity::find()
        .one(&s.state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session"))?;
    let inline = auth_store::session_by_id(&s.state.reads, &session.id).await?;
    assert_eq!(inline, Some(session.clone()));
    assert_eq!(inline, auth_store::session_by_id(&pool, &session.id).await?);
    let user = auth_store::user_by_id_read(&s.state.reads, session.user_id).await?;
    assert!(user.is_some());
    assert_eq!(
        user,
        auth_store::user_by_id(&s.state.db, session.user_id).await?
    );
    Ok(())
}

/// Creates that arrive together are committed together: every caller gets
/// its own answer, the one whose credit code another took in the same batch
/// gets 409 and the rest are saved, numbered without gaps and audited on an
/// unbroken chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_are_committed_together_and_a_bad_one_fails_alone() -> R {
    let s = TestServer::start().await?;
    let token = s.token(1).await?;
    let rep = s.add_user("rep_a", &["sales_rep"], None).await?;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let mut body =
            json!({"full_name": format!("并发第{i}号精密机械有限公司"), "customer_type": "dealer"});
        if i == 5 || i == 6 {
            body["credit_code"] = json!("91440606MA4UJ8XX24");
        }
        if i % 3 == 0 {
            body["contact_name"] = json!("王芳");
            body["contact_phone"] = json!(format!("139{i:08}"));
        }
        if i % 4 == 0 {
            body["owner_id"] = json!(rep);
        }
        let (c, url, token) = (s.client(), s.url("/api/v1/customers"), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = c.post(url).bearer_auth(token).json(&body).send().await?;
            let st = r.status();
            let v: Value = r.json().await?;
            anyhow::Ok((st, v))
        }));
    }
    let admin = Caller::admin(&s).await?;
    let mut created = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (st, v) = t.await??;
        match st {
            StatusCode::CREATED => {
                // The answer to the create is the customer as stored.
                let (_, stored) = admin.get(&format!("/api/v1/customers/{}", v["id"])).await?;
                assert_eq!(v, stored);
                created.push(v["code"].as_str().unwrap_or("").to_owned());
            }
            StatusCode::CONFLICT => conflicts += 1,
            other => anyhow::bail!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((created.len(), conflicts), (23, 1));
    created.sort();
    let numbers: Vec<u64> = created
        .iter()
        .map(|c| c[c.len() - 6..].parse().unwrap_or(0))
        .collect();
    assert_eq!(numbers, (1..=23).collect::<Vec<u64>>(), "{created:?}");
    let (_, list) = admin.get("/api/v1/customers").await?;
    assert_eq!(list["total"], 23);
    let report = kehu::platform::audit::verify(&s.state.db).await?;
    assert!(report.broken.is_none(), "{report:?}");
    Ok(())
}

/// A customer's search terms follow its edits (the old name no longer finds
/// it, its phone still does), and on SQLite the upgrade that moved the terms
/// from the `customer_terms` table into the FTS5 index keeps every term.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_terms_follow_edits_and_survive_the_move_to_the_index() -> R {
    use sea_orm::ConnectionTrait;
    let s = TestServer::start().await?;
    let admin = Caller::admin(&s).await?;
    let (st, a) = admin
        .post(
            "/api/v1/customers",
            json!({"full_name": "苏州恒达精密模具有限公司", "customer_type": "dealer",
                   "contact_name": "王五", "contact_phone": "13900001111"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let (st, _) = admin
        .post(
            "/api/v1/customers",
            json!({"full_name": "无锡华光锅炉有限公司", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    let (st, renamed) = admin
        .patch(
            &format!("/api/v1/customers/{}", a["id"]),
            json!({"version": 1, "full_name": "杭州恒达精密模具有限公司"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{renamed}");
    let expect = [
        ("苏州", 0),
        ("szhd", 0),
        ("杭州", 1),
        ("hzhd", 1),
        ("hangzhou", 1),
        ("恒达精密", 1),
        ("13900001111", 1),
        ("无锡", 1),
        ("wxhg", 1),
    ];
    let check = |when: &'static str| {
        let admin = &admin;
        async move {
            for (q, n) in expect {
                let (_, found) = admin
                    .get(&format!("/api/v1/customers?q={}", urlencoding::encode(q)))
                    .await?;
                assert_eq!(found["total"], n, "{when}: search {q}: {found}");
            }
            anyhow::Ok(())
        }
    };
    check("after the rename").await?;

    if s.db.is_postgres() {
        return Ok(());
    }
    // Back to the layout before migration m0005, then upgrade again.
    let db = kehu::platform::db::connect(&s.db.config().database_url()).await?;
    let count = |db: &kehu::platform::db::Db| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM customer_terms",
                ))
                .await?;
            anyhow::Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?)
        }
    };
    let terms = count(&db).await?;
    assert!(terms.unwrap_or(0) > 20, "{terms:?}");
    // One transaction, so one connection: a pooled connection that did not see the view
    // dropped would still refuse to insert into it.
    let txn = sea_orm::TransactionTrait::begin(&db).await?;
    for sql in [
        "DROP VIEW customer_terms",
        "CREATE TABLE customer_terms (term TEXT NOT NULL, customer_id INTEGER NOT NULL, \
         PRIMARY KEY (term, customer_id))",
        "INSERT INTO customer_terms SELECT term, doc FROM customer_search_terms",
        "DROP TABLE customer_search_terms",
        "DROP TABLE customer_search",
        // The search migrations after it run again too, as on a database
        // that had not had them.
        "DELETE FROM seaql_migrations WHERE version LIKE 'm0005%' OR version LIKE 'm0010%'",
    ] {
        txn.execute_unprepared(sql).await?;
    }
    txn.commit().await?;
    assert_eq!(count(&db).await?, terms, "the old table holds every term");
    // An upgrade that fails half-way (here: a name already taken) changes nothing.
    db.execute_unprepared("CREATE TABLE customer_search_terms (x INTEGER)")
        .await?;
    assert!(kehu::platform::db::migrate(&db).await.is_err());
    let index_left = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM sqlite_schema WHERE name = 'customer_search'",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?;
    assert_eq!(index_left, Some(0), "the failed upgrade was rolled back");
    assert_eq!(count(&db).await?, terms, "the old table is untouched");
    db.execute_unprepared("DROP TABLE customer_search_terms")
        .await?;
    kehu::platform::db::migrate(&db).await?;
    assert_eq!(count(&db).await?, terms, "the index holds every term");
    check("after the upgrade").await?;
    Ok(())
}

/// The statistics a start leaves keep none of the search index's own tables
/// (SQLite), so FTS5 removes a merged segment by a range of keys, not by a
/// scan of every page of the index (which slowed writes twelvefold at 260,000
/// customers); the other tables keep theirs. PostgreSQL has no such tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_leave_the_search_index_to_its_keys() -> R {
    use sea_orm::ConnectionTrait;
    let s = TestServer::start().await?;
    if s.db.is_postgres() {
        return Ok(());
    }
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    for name in ["苏州精密机械有限公司", "苏州精密电器有限公司"] {
        let (st, c) = rep
            .post(
                "/api/v1/customers",
                json!({"full_name": name, "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
    }
    let db = kehu::platform::db::connect(&s.db.config().database_url()).await?;
    kehu::platform::db::refresh_statistics(&db).await?;
    // The text in column `at` of each row a statement answers.
    let texts = |sql: &'static str, at: usize| {
        let db = db.clone();
        async move {
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql,
                ))
                .await?;
            anyhow::Ok(
                rows.iter()
                    .map(|r| r.try_get_by_index::<String>(at))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    let kept = texts("SELECT DISTINCT tbl FROM sqlite_stat1", 0).await?;
    assert!(kept.iter().any(|t| t == "customers"), "{kept:?}");
    assert!(
        !kept.iter().any(|t| t.starts_with("customer_search")),
        "{kept:?}"
    );
    // FTS5's own statement, as a new connection plans it (the detail is
    // EXPLAIN QUERY PLAN's fourth column).
    let detail = texts(
        "EXPLAIN QUERY PLAN DELETE FROM customer_search_data WHERE id >= 1 AND id <= 9",
        3,
    )
    .await?;
    assert!(
        detail.iter().any(|d| d.contains("INTEGER PRIMARY KEY")),
        "{detail:?}"
    );
    Ok(())
}

/// Migration m0010 writes every customer's terms again from the rows: its
/// names, phones, credit code, owner, shares and filter values, on both
/// engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_is_written_again_from_the_rows_by_the_upgrade() -> R {
    use sea_orm::ConnectionTrait;
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (other, other_id) = Caller::new(&s, "other", &["sales_rep"]).await?;
    let (st, c) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "宁波海天塑机集团有限公司", "short_name": "海天塑机",
                   "customer_type": "dealer", "stage": "active", "tags": "出口",
                   "credit_code": "91330200123456789Q",
                   "contact_name": "李工", "contact_phone": "13957488888"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let path = format!("/api/v1/customers/{}", c["id"]);
    let (st, _) = rep
        .post(&format!("{path}/shares"), json!({"user_id": other_id}))
        .await?;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let queries = [
        "海天",
        "塑",
        "nbht",
        "ningbohaitian",
        "1395748",
        "13957488888",
        "海天&stage=active",
        "海天&stage=lost",
        "海天&tag=出口",
        "海天&customer_type=dealer",
        "91330200",
        "塑机集团",
        "海天塑机集团",
        "海天塑料",
    ];
    let expect = vec![1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0];
    assert_eq!(totals(&rep, &queries).await?, expect, "before");
    assert_eq!(totals(&other, &queries).await?, expect, "shared, before");

    let db = kehu::platform::db::connect(&s.db.config().database_url()).await?;
    let empty = if s.db.is_postgres() {
        "DELETE FROM customer_terms"
    } else {
        "DELETE FROM customer_search"
    };
    db.execute_unprepared(empty).await?;
    // The latest step that writes the index again (name order stretches).
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version LIKE 'm0014%'")
        .await?;
    assert_eq!(
        totals(&rep, &queries).await?,
        vec![0; 14],
        "the index is empty"
    );
    kehu::platform::db::migrate(&db).await?;
    assert_eq!(totals(&rep, &queries).await?, expect, "after");
    assert_eq!(totals(&other, &queries).await?, expect, "shared, after");
    // Where the name lies in a list sorted by name: 宁波… is ningbohaitian….
    for (term, held) in [("p:4ning", 1), ("p:6ningbo", 1), ("p:6ningbh", 0)] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM customer_terms WHERE term = '{term}'"),
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no count"))?;
        assert_eq!(row.try_get::<i64>("", "n")?, held, "{term}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_answers_the_record_as_a_following_get_shows_it() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (st, c) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "温州瓯江阀门有限公司", "customer_type": "dealer", "contact_name": "陈明", "contact_phone": "13857712345"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let path = format!("/api/v1/customers/{}", c["id"]);
    assert_eq!(c, rep.get(&path).await?.1, "create");
    let (_, c) = rep
        .patch(
            &path,
            json!({"version": c["version"], "region": "east", "notes": "重点跟进"}),
        )
        .await?;
    assert_eq!(c, rep.get(&path).await?.1, "edit");
    let (st, k) = rep
        .post(
            &format!("{path}/contacts"),
            json!({"name": "周洁", "phones": "0577-88881234", "title": "采购"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let listed = |list: Value, id: &Value| {
        list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|x| &x["id"] == id).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        k,
        listed(rep.get(&format!("{path}/contacts")).await?.1, &k["id"]),
        "contact"
    );
    let (_, k) = rep
        .patch(
            &format!("/api/v1/contacts/{}", k["id"]),
            json!({"version": k["version"], "title": "采购经理"}),
        )
        .await?;
    assert_eq!(
        k,
        listed(rep.get(&format!("{path}/contacts")).await?.1, &k["id"]),
        "contact edit"
    );
    let (st, p) = rep
        .post(
            &format!("{path}/visit-plans"),
            json!({"planned_on": "2199-01-05", "purpose": "年度回访"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(
        p,
        listed(rep.get(&format!("{path}/visit-plans")).await?.1, &p["id"]),
        "visit plan"
    );
    let (st, i) = rep
        .post(
            &format!("{path}/interactions"),
            json!({"kind": "call", "summary": "电话确认样品", "visit_plan_id": p["id"]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{i}");
    assert_eq!(
        i,
        listed(rep.get(&format!("{path}/interactions")).await?.1, &i["id"]),
        "interaction"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_up_to_the_cap_and_capped_beyond_it_in_every_scope() -> R {
    let s = TestServer::start().await?;
    s.edit_policy("list_count_cap = 10000", "list_count_cap = 100")
        .await?;
    // Two reps: each owns about 150 customers, and so does the manager of each one's team.
    kehu::demo::generate(
        &s.state,
        &kehu::platform::audit::AuditActor::system(),
        &kehu::demo::DemoOptions {
            customers: 300,
            reps: 2,
            seed: 3,
            batch: 100,
        },
        &mut |_, _| {},
    )
    .await?;
    let demo = "orchid-demo-58-lantern";
    let rep = s.login("rep01", demo).await?;
    use kehu::platform::auth::{get_team, get_user, get_user_by_name};
    let r = get_user_by_name(&s.state, "rep01").await?;
    let team = get_team(
        &s.state,
        r.team_id.ok_or_else(|| anyhow::anyhow!("no team"))?,
    )
    .await?;
    let m = get_user(
        &s.state,
        team.manager_id
            .ok_or_else(|| anyhow::anyhow!("no manager"))?,
    )
    .await?;
    let manager = s.login(&m.username, demo).await?;
    let admin = s.admin().await?;
    for (who, c) in [("admin", &admin), ("manager", &manager), ("rep", &rep)] {
        let all: serde_json::Value = c
            .get(s.url("/api/v1/customers?per_page=20"))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(all["total"], 100, "{who}: {}", all["total"]);
        assert_eq!(all["total_capped"], true, "{who}");
        assert_eq!(all["items"].as_array().map(Vec::len), Some(20), "{who}");
        // Below the cap the total is exact: one customer found by its code.
        let code = all["items"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let one: serde_json::Value = c
            .get(s.url(&format!("/api/v1/customers?q={code}")))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(one["total"], 1, "{who}: {one}");
        assert_eq!(one["total_capped"], false, "{who}");
        // A filter that leaves fewer than the cap counts them all: the pages hold exactly `total`.
        let typed: serde_json::Value = c
            .get(s.url("/api/v1/customers?customer_type=special&per_page=500"))
            .send()
            .await?
            .json()
            .await?;
        let n = typed["items"].as_array().map(Vec::len).unwrap_or(0) as u64;
        assert!(n < 100, "{who}: {n}");
        assert_eq!(typed["total"], n, "{who}");
        assert_eq!(typed["total_capped"], false, "{who}");
        // The list page says "100+".
        let page = c.get(s.url("/customers")).send().await?.text().await?;
        assert!(page.contains("共 100+ 条"), "{who}");
    }
    Ok(())
}

/// What a customer search must answer, computed by scanning every customer
/// in scope: a name text is a substring of the folded full or short name, a
/// run of letters a prefix of a reading's initials or full pinyin of either
/// name, a code a prefix of the customer code.
fn brute_force_matches(kind: &str, q: &str, c: &Value) -> bool {
    use kehu::customers::model::{pinyin_keys, search_text};
    let names: Vec<&str> = [&c["full_name"], &c["short_name"]]
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    match kind {
        "name" => {
            let text = search_text(q);
            names.iter().any(|n| search_text(n).contains(&text))
        }
        "pinyin" => names.iter().any(|n| {
            pinyin_keys(n)
                .variants
                .iter()
                .any(|(i, f)| i.starts_with(q) || f.starts_with(q))
        }),
        "code" => c["code"].as_str().is_some_and(|code| code.starts_with(q)),
        // No text: the list of the whole scope.
        "none" => true,
        _ => false,
    }
}

/// Whether the folded full or short name starts with the name text.
fn brute_force_starts(q: &str, c: &Value) -> bool {
    use kehu::customers::model::search_text;
    let text = search_text(q);
    [&c["full_name"], &c["short_name"]]
        .into_iter()
        .filter_map(Value::as_str)
        .any(|n| search_text(n).starts_with(&text))
}

/// The list's order, as the API documents it: `-updated` newest first,
/// then by id; `code`; `name` (its full pinyin, then id); `created` (id).
fn brute_force_order(sort: &str, a: &Value, b: &Value) -> std::cmp::Ordering {
    let key = |c: &Value| -> (String, i64) {
        let id = c["id"].as_i64().unwrap_or(0);
        match sort.trim_start_matches('-') {
            "code" => (c["code"].as_str().unwrap_or("").to_owned(), id),
            "name" => {
                let name = c["full_name"].as_str().unwrap_or("");
                (kehu::customers::model::pinyin_keys(name).full, id)
            }
            "created" => (String::new(), id),
            _ => (c["updated_at"].as_str().unwrap_or("").to_owned(), id),
        }
    };
    let ord = key(a).cmp(&key(b));
    if sort.starts_with('-') {
        ord.reverse()
    } else {
        ord
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_page_of_random_searches_is_what_a_scan_of_the_scope_finds() -> R {
    let s = TestServer::start().await?;
    // Enough customers that common words (有限公司, one character) walk the
    // sort index while rare ones are driven by the term index.
    kehu::demo::generate(
        &s.state,
        &kehu::platform::audit::AuditActor::system(),
        &kehu::demo::DemoOptions {
            customers: 800,
            reps: 4,
            seed: 11,
            batch: 200,
        },
        &mut |_, _| {},
    )
    .await?;
    let seed: u64 = std::env::var("KEHU_SEARCH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_micros().unsigned_abs());
    let demo = "orchid-demo-58-lantern";
    let admin = s.admin().await?;
    let manager = s.login("mgr_east", demo).await?;
    let rep = s.login("rep01", demo).await?;
    let mut rng = kehu::demo::Rng::for_item(seed, 0);
    for (who, c) in [("admin", &admin), ("manager", &manager), ("rep", &rep)] {
        // Everything the caller may see, page by page.
        let mut everyone: Vec<Value> = Vec::new();
        for page in 1.. {
            let v: Value = c
                .get(s.url(&format!(
                    "/api/v1/customers?per_page=500&page={page}&sort=created"
                )))
                .send()
                .await?
                .json()
                .await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let last = items.len() < 500;
            everyone.extend(items);
            if last {
                break;
            }
        }
        assert!(everyone.len() > 20, "{who}: {}", everyone.len());
        for _ in 0..60 {
            let c0 = &everyone[rng.below(everyone.len())];
            let name: Vec<char> = c0["full_name"].as_str().unwrap_or("").chars().collect();
            let mnemonic = c0["mnemonic"].as_str().unwrap_or("").to_owned();
            let code = c0["code"].as_str().unwrap_or("").to_owned();
            let (kind, q) = match rng.below(8) {
                0..=2 => {
                    let len = 1 + rng.below(4).min(name.len().saturating_sub(1));
                    let at = rng.below(name.len() - len + 1);
                    ("name", name[at..at + len].iter().collect::<String>())
                }
                3 if mnemonic.len() >= 3 => {
                    let len = 2 + rng.below(2);
                    ("pinyin", mnemonic[..len].to_owned())
                }
                // Full pinyin past the index's eight letters: the row decides.
                4 => {
                    let full =
                        kehu::customers::model::pinyin_keys(c0["full_name"].as_str().unwrap_or(""))
                            .variants
                            .first()
                            .map(|(_, f)| f.clone())
                            .unwrap_or_default();
                    let len = full.len().min(9 + rng.below(4));
                    ("pinyin", full[..len].to_owned())
                }
                5 => ("code", code[..code.len() - rng.below(3)].to_owned()),
                6 => ("none", String::new()),
                _ => ("name", "有限公司".to_owned()),
            };
            let sorts = [
                "-updated", "code", "-code", "name", "-name", "created", "-created",
            ];
            let sort = sorts[rng.below(sorts.len())];
            let per_page = 5 + rng.below(20);
            let page = 1 + rng.below(2);
            // A third of the queries also filter by the stage of a customer seen.
            let stage = if rng.below(3) == 0 {
                everyone[rng.below(everyone.len())]["stage"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            } else {
                String::new()
            };
            let mut expected: Vec<&Value> = everyone
                .iter()
                .filter(|c| brute_force_matches(kind, &q, c))
                .filter(|c| stage.is_empty() || c["stage"].as_str() == Some(stage.as_str()))
                .collect();
            // The exact code typed comes first, or the names that start
            // with the text typed; then the chosen order.
            let ranked_later = |c: &Value| match kind {
                "code" => c["code"].as_str() != Some(q.as_str()),
                "name" => !brute_force_starts(&q, c),
                _ => true,
            };
            expected.sort_by(|a, b| {
                ranked_later(a)
                    .cmp(&ranked_later(b))
                    .then_with(|| brute_force_order(sort, a, b))
            });
            let want: Vec<&str> = expected
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .filter_map(|c| c["code"].as_str())
                .collect();
            let got: Value = c
                .get(s.url("/api/v1/customers"))
                .query(&[
                    ("q", q.as_str()),
                    ("stage", stage.as_str()),
                    ("sort", sort),
                    ("per_page", &per_page.to_string()),
                    ("page", &page.to_string()),
                ])
                .send()
                .await?
                .json()
                .await?;
            let codes: Vec<&str> = got["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["code"].as_str()).collect())
                .unwrap_or_default();
            let case = format!(
                "seed {seed}, {who}, {kind} {q:?}, stage {stage:?}, sort {sort}, page {page} of {per_page}"
            );
            assert_eq!(codes, want, "{case}");
            assert_eq!(got["total"], expected.len(), "{case}");
            assert_eq!(got["total_capped"], false, "{case}");
        }
    }
    Ok(())
}

/// A common text whose names all sort after every other name of the
/// owner: the walk along the owner's name order stops at its bound before
/// reaching them, and the page sorts the index's matches instead. Every
/// page, either way round, is the names in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_gathered_at_the_end_of_the_name_order_still_pages_in_name_order() -> R {
    let s = TestServer::start().await?;
    let (rep, _) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    // More of the others than a walk's bound (twice the drive limit of 200).
    for i in 0..420 {
        let (st, c) = rep
            .post(
                "/api/v1/customers",
                json!({"full_name": format!("安徽{i:03}五金有限公司"), "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
    }
    // More matches than the drive limit: a common text, walked, and found
    // in the stretches of the name order that hold most of them (中山, and
    // the largest others) and, for the rest, by the index.
    let mut gathered = Vec::new();
    let elsewhere = ["北京", "广州", "上海", "深圳", "天津"];
    // More than twice the drive limit: sorting them all is not the cheaper way.
    for i in 0..415 {
        let (full, short) = match elsewhere.get(i) {
            // Matched by the short name; the full name sorts elsewhere.
            Some(city) => (
                format!("{city}中山{i:03}照明有限公司"),
                Some(format!("中山{i:03}照明")),
            ),
            None => (format!("中山{i:03}灯饰有限公司"), None),
        };
        let (st, c) = rep
            .post(
                "/api/v1/customers",
                json!({"full_name": full, "short_name": short, "customer_type": "dealer"}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        gathered.push(full);
    }
    // In name order: by the full name's pinyin (created in order, so ties by id).
    gathered.sort_by_cached_key(|full| kehu::customers::model::pinyin_keys(full).full);
    assert!(gathered[0].starts_with("北京") && gathered[5].starts_with("中山005"));
    for q in ["中山", "zhongshan", "zs"] {
        for (sort, page, expected) in [
            ("name", 1, &gathered[..20]),
            ("name", 3, &gathered[40..60]),
            ("-name", 1, &gathered[395..]),
            ("-name", 21, &gathered[..15]),
        ] {
            let url = format!(
                "/api/v1/customers?q={}&sort={sort}&page={page}&per_page=20",
                urlencoding::encode(q)
            );
            let (st, found) = rep.get(&url).await?;
            assert_eq!(st, StatusCode::OK, "{url}: {found}");
            let names: Vec<&str> = found["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["full_name"].as_str()).collect())
                .unwrap_or_default();
            let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            if sort == "-name" {
                expected.reverse();
            }
            assert_eq!(names, expected, "{url}");
            assert_eq!(found["total"], 415, "{url}");
        }
    }
    Ok(())
}
