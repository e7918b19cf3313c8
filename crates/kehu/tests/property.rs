//! Customer property (SPEC §4) through the API on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL: the whole lifecycle, every refusal,
//! idle and calibration by the clock, and a property-based ledger check.
use chrono::{Duration, TimeZone, Utc};
use kehu::platform::clock::Clock;
use kehu::testing::{Caller, TestServer, password_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// Files a document (multipart) for an item.
async fn document(
    c: &Caller,
    item: i64,
    fields: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, Value)> {
    let pdf = b"%PDF-1.4 signed by the customer".to_vec();
    c.multipart(
        &format!("/api/v1/property/items/{item}/documents"),
        fields,
        Some(("指示.pdf", pdf)),
    )
    .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_default()
}

/// The message of the first field error, and its field.
fn refusal(v: &Value) -> (String, String) {
    let f = &v["error"]["fields"][0];
    (
        f["field"].as_str().unwrap_or_default().to_owned(),
        f["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The cast: a sales rep with a customer, the warehouse, quality, engineering.
struct Cast {
    sales: Caller,
    sales_id: i64,
    wh: Caller,
    qa: Caller,
    eng: Caller,
    customer: i64,
}

async fn cast(s: &TestServer) -> anyhow::Result<Cast> {
    let (sales, sales_id) = Caller::new(s, "rep", &["sales_rep"]).await?;
    let (wh, _) = Caller::new(s, "keeper", &["warehouse"]).await?;
    let (qa, _) = Caller::new(s, "qe", &["quality"]).await?;
    let (eng, _) = Caller::new(s, "me", &["engineering"]).await?;
    let (st, c) = sales
        .post(
            "/api/v1/customers",
            json!({"full_name": "苏州恒达精密模具有限公司", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    Ok(Cast {
        sales,
        sales_id,
        wh,
        qa,
        eng,
        customer: id(&c),
    })
}

/// Notice → receipt → report + verification → registration; returns the item.
async fn registered(
    s: &Cast,
    kind: &str,
    name: &str,
    qty: i64,
    serial: Option<&str>,
) -> anyhow::Result<Value> {
    let (st, n) = s
        .sales
        .post(
            "/api/v1/property/notices",
            json!({"customer_id": s.customer, "order_no": "SO-1", "expected_on": "2026-12-01",
                   "lines": [{"kind": kind, "item_name": name, "quantity": qty, "unit": "件"}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let line = n["lines"][0]["id"].as_i64().unwrap_or_default();
    let mut body = json!({"line_id": line, "quantity": qty, "packaging_ok": true, "lot_no": format!("L-{name}")});
    if let Some(sn) = serial {
        body["serial_nos"] = json!(sn);
    }
    let (st, items) =
        s.wh.post(
            &format!("/api/v1/property/notices/{}/receive", id(&n)),
            body,
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{items}");
    let item = items[0].clone();
    assert_eq!(item["state"], "pending_inspection");
    let verifier = if matches!(kind, "mold" | "fixture" | "production_equipment") {
        &s.eng
    } else {
        &s.qa
    };
    let (st, doc) = document(
        verifier,
        id(&item),
        &[("kind", "report"), ("note", "IQC-001")],
    )
    .await?;
    assert_eq!(st, StatusCode::CREATED, "{doc}");
    let (st, v) = verifier
        .post(&format!("/api/v1/property/items/{}/verify", id(&item)), json!({"verdict": "accepted", "report_document_id": id(&doc), "version": item["version"]}))
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut reg = json!({"location": "KG-A01", "version": v["version"]});
    if kind == "mold" {
        reg["rated_life"] = json!(1000);
    }
    let (st, r) =
        s.wh.post(
            &format!("/api/v1/property/items/{}/register", id(&item)),
            reg,
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "registered");
    Ok(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_path_from_notice_to_return() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let item = registered(&c, "raw_material", "PA66 粒料", 100, None).await?;
    let i = id(&item);
    assert!(
        item["register_no"]
            .as_str()
            .is_some_and(|n| n.starts_with("GCC-"))
    );
    assert_eq!(item["balance"], 100);
    assert_eq!(item["balances"][0]["location"], "KG-A01");
    // The label sheet carries the customer's name, the number and a QR code of the item page.
    let page = s.login("keeper", &password_of("keeper")).await?;
    let label = page
        .get(s.url(&format!("/property/labels?ids={i}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(label.contains("苏州恒达精密模具有限公司"));
    assert!(label.contains(item["register_no"].as_str().unwrap_or("?")));
    assert!(label.contains("<svg"), "QR code drawn");
    // Issue against the customer's order, return the rest from production.
    let (st, v) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/move"),
            json!({"kind": "issue", "quantity": 30, "from_location": "KG-A01", "order_no": "WO-7"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["balance"], 70);
    let (st, v) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/move"),
            json!({"kind": "return_from_production", "quantity": 5, "to_location": "KG-A02"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["balance"], 75);
    // Return to the customer with its written instruction on file.
    let (st, doc) = document(
        &c.sales,
        i,
        &[("kind", "instruction"), ("instruction", "return")],
    )
    .await?;
    assert_eq!(st, StatusCode::CREATED, "{doc}");
    for (loc, q) in [("KG-A01", 70), ("KG-A02", 5)] {
        let (st, v) = c.wh.post(&format!("/api/v1/property/items/{i}/end"),
            json!({"kind": "return_to_customer", "quantity": q, "from_location": loc, "document_id": id(&doc)})).await?;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (_, v) = c.sales.get(&format!("/api/v1/property/items/{i}")).await?;
    assert_eq!(v["state"], "ended");
    assert_eq!(v["end_kind"], "return_to_customer");
    assert_eq!(v["balance"], 0);
    // The ledger and the history hold every step.
    let (_, ledger) = c
        .sales
        .get(&format!("/api/v1/property/items/{i}/ledger"))
        .await?;
    let kinds: Vec<&str> = ledger["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        [
            "receive",
            "put_away",
            "issue",
            "return_from_production",
            "return_to_customer",
            "return_to_customer"
        ]
    );
    let (_, h) = c
        .sales
        .get(&format!("/api/v1/property/items/{i}/history"))
        .await?;
    let actions: Vec<&str> = h["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for step in [
        "property_receive",
        "property_document",
        "property_verify",
        "property_register",
        "property_issue",
        "property_return_from_production",
        "property_return_to_customer",
    ] {
        assert!(actions.contains(&step), "{step} missing from {actions:?}");
    }
    // The customer page shows its property; the register no longer lists ended property.
    let rep = s.login("rep", &password_of("rep")).await?;
    let cp = rep
        .get(s.url(&format!("/customers/{}", c.customer)))
        .send()
        .await?
        .text()
        .await?;
    assert!(cp.contains("PA66 粒料"));
    let (_, reg) = c.sales.get("/api/v1/property/items?register=true").await?;
    assert_eq!(reg["total"], 0);
    let audit = kehu::platform::audit::verify(&s.state.db).await?;
    assert!(audit.broken.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_has_its_message_and_changes_nothing() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let item = registered(&c, "component", "端子", 10, None).await?;
    let i = id(&item);
    let mv = format!("/api/v1/property/items/{i}/move");
    // More than the balance.
    let (st, e) =
        c.wh.post(
            &mv,
            json!({"kind": "issue", "quantity": 11, "from_location": "KG-A01", "order_no": "WO-1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (field, msg) = refusal(&e);
    assert_eq!(field, "quantity");
    assert!(
        msg.contains("结存为负") || msg.contains("negative"),
        "{msg}"
    );
    // Another customer's order without its consent.
    let (st, other) = c
        .sales
        .post(
            "/api/v1/customers",
            json!({"full_name": "宁波海天塑机有限公司", "customer_type": "dealer"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = c.wh.post(&mv, json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-X", "order_customer_id": id(&other)})).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal(&e).0, "order_customer_id");
    assert!(refusal(&e).1.contains("书面同意"), "{}", refusal(&e).1);
    // With the consent on file for that order, it goes.
    let (st, _) = document(&c.sales, i, &[("kind", "consent"), ("order_no", "WO-X")]).await?;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = c.wh.post(&mv, json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-X", "order_customer_id": id(&other)})).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    // An end step without an instruction on file.
    let (st, e) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/end"),
            json!({"kind": "scrap", "quantity": 1, "from_location": "KG-A01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal(&e).0, "document_id");
    // An instruction for another step does not do either.
    let (_, ret) = document(
        &c.sales,
        i,
        &[("kind", "instruction"), ("instruction", "return")],
    )
    .await?;
    let (st, _) = c.wh.post(&format!("/api/v1/property/items/{i}/end"), json!({"kind": "scrap", "quantity": 1, "from_location": "KG-A01", "document_id": id(&ret)})).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // FIFO: a newer lot of the same item waits for the older one unless a reason is given.
    let newer = registered(&c, "component", "端子", 5, None).await?;
    let nmv = format!("/api/v1/property/items/{}/move", id(&newer));
    let (st, e) =
        c.wh.post(
            &nmv,
            json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-2"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal(&e).0, "reason");
    assert!(
        refusal(&e)
            .1
            .contains(item["register_no"].as_str().unwrap_or("?")),
        "names the older lot"
    );
    let (st, _) = c.wh.post(&nmv, json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-2", "reason": "客户指定新批次"})).await?;
    assert_eq!(st, StatusCode::OK);
    // An open abnormality blocks issue until the customer's instruction is recorded.
    let (st, a) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/abnormalities"),
            json!({"kind": "damaged", "description": "外箱压损", "quantity": 2}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert!(a["number"].as_str().is_some_and(|n| n.starts_with("GCYC-")));
    let (st, e) =
        c.wh.post(
            &mv,
            json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-3"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refusal(&e).1.contains("冻结"), "{}", refusal(&e).1);
    let (_, v) = c.wh.get(&format!("/api/v1/property/items/{i}")).await?;
    assert_eq!(
        v["balances"].as_array().map(|b| b
            .iter()
            .any(|l| l["location"] == "GL-01" && l["quantity"] == 2)),
        Some(true),
        "isolated: {v}"
    );
    // The instruction needs the notification first, then a document.
    let ab = format!("/api/v1/property/abnormalities/{}", id(&a));
    let (_, use_doc) = document(
        &c.sales,
        i,
        &[("kind", "instruction"), ("instruction", "use_as_is")],
    )
    .await?;
    let (st, e) = c
        .sales
        .post(
            &format!("{ab}/instruction"),
            json!({"document_id": id(&use_doc)}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (st, _) = c
        .sales
        .post(
            &format!("{ab}/notify"),
            json!({"notification": "11-20 电话通知采购李经理"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = c
        .sales
        .post(&format!("{ab}/instruction"), json!({}))
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, done) = c
        .sales
        .post(
            &format!("{ab}/instruction"),
            json!({"document_id": id(&use_doc)}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "closed");
    let (st, v) =
        c.wh.post(
            &mv,
            json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-3"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "back in service: {v}");
    // Rejected at verification: isolated, never issued.
    let (st, n) = c
        .sales
        .post(
            "/api/v1/property/notices",
            json!({"customer_id": c.customer, "expected_on": "2026-12-01",
        "lines": [{"kind": "packaging", "item_name": "纸箱", "quantity": 3, "unit": "个"}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    let (_, got) =
        c.wh.post(
            &format!("/api/v1/property/notices/{}/receive", id(&n)),
            json!({"line_id": n["lines"][0]["id"], "quantity": 3, "packaging_ok": true}),
        )
        .await?;
    let r = id(&got[0]);
    let (_, doc) = document(&c.qa, r, &[("kind", "report")]).await?;
    let (st, e) =
        c.qa.post(
            &format!("/api/v1/property/items/{r}/verify"),
            json!({"verdict": "rejected", "report_document_id": id(&doc)}),
        )
        .await?;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rejection needs its reason: {e}"
    );
    let (st, v) =
        c.qa.post(
            &format!("/api/v1/property/items/{r}/verify"),
            json!({"verdict": "rejected", "note": "受潮", "report_document_id": id(&doc)}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["balances"][0]["location"], "GL-01");
    let (st, _) =
        c.wh.post(
            &format!("/api/v1/property/items/{r}/register"),
            json!({"location": "KG-A01"}),
        )
        .await?;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no registration after rejection"
    );
    let (st, _) =
        c.wh.post(
            &format!("/api/v1/property/items/{r}/move"),
            json!({"kind": "issue", "quantity": 1, "from_location": "GL-01", "order_no": "WO-4"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // The wrong role: quality cannot issue, the warehouse cannot verify.
    let (st, _) =
        c.qa.post(
            &mv,
            json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-5"}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The ledger of the first lot still adds up to its register quantity.
    let (_, v) = c.wh.get(&format!("/api/v1/property/items/{i}")).await?;
    let (_, ledger) =
        c.wh.get(&format!("/api/v1/property/items/{i}/ledger"))
            .await?;
    let last = ledger["items"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["balance_after"], v["balance"]);
    assert_eq!(
        v["balance"],
        10 - 1 - 1,
        "two issued; the 2 isolated went back to storage on the instruction: {v}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gauge_past_calibration_is_blocked_and_idle_property_reaches_its_owner() -> R {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 2, 0, 0)
        .single()
        .unwrap_or_default();
    let s = TestServer::start_with_clock(Clock::fixed(start)).await?;
    let c = cast(&s).await?;
    let gauge = registered(&c, "gauge", "数显卡尺", 1, Some("SN-001")).await?;
    let g = id(&gauge);
    assert_eq!(
        gauge["calibration_due_on"], "2027-03-02",
        "today + the policy's 365 days"
    );
    let mv = format!("/api/v1/property/items/{g}/move");
    let issue =
        json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-9"});
    let (st, _) = c.wh.post(&mv, issue.clone()).await?;
    assert_eq!(st, StatusCode::OK);
    let (st, _) =
        c.wh.post(
            &mv,
            json!({"kind": "return_from_production", "quantity": 1, "to_location": "KG-A01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    // A calibration record sets the next due date; a day past it, issue is refused.
    let (st, v) =
        c.qa.post(
            &format!("/api/v1/property/items/{g}/care"),
            json!({"kind": "calibration", "result": "pass", "next_due_on": "2026-04-01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["calibration_due_on"], "2026-04-01");
    s.clock.set(start + Duration::days(31));
    let (st, e) = c.wh.post(&mv, issue.clone()).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refusal(&e).1.contains("校准"), "{}", refusal(&e).1);
    // Quality's home page lists it; calibrating it unblocks.
    let (_, due) = c.qa.get("/api/v1/property/due").await?;
    assert!(
        due["care"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["id"] == g))
    );
    let (st, v) =
        c.qa.post(
            &format!("/api/v1/property/items/{g}/care"),
            json!({"kind": "calibration", "result": "pass"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _) = c.wh.post(&mv, issue.clone()).await?;
    assert_eq!(st, StatusCode::OK);
    let (st, _) =
        c.wh.post(
            &mv,
            json!({"kind": "return_from_production", "quantity": 1, "to_location": "KG-A01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK);
    // Unused for the policy's 2 months: on its sales owner's idle list and home page.
    let used = s.clock.now();
    s.clock.set(used + Duration::days(59));
    let (_, due) = c.sales.get("/api/v1/property/due").await?;
    assert!(
        due["idle"].as_array().is_some_and(|a| a.is_empty()),
        "not idle yet"
    );
    s.clock.set(used + Duration::days(63));
    let (_, due) = c.sales.get("/api/v1/property/due").await?;
    assert!(
        due["idle"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["id"] == g)),
        "{due}"
    );
    let home = s
        .login("rep", &password_of("rep"))
        .await?
        .get(s.url("/"))
        .send()
        .await?
        .text()
        .await?;
    assert!(home.contains("闲置"), "home page task");
    // The poller records the reminder once.
    assert_eq!(kehu::property::scan_due(&s.state).await?, 1);
    assert_eq!(kehu::property::scan_due(&s.state).await?, 0);
    let (_, h) = c
        .sales
        .get(&format!("/api/v1/property/items/{g}/history"))
        .await?;
    assert!(
        h["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "property_idle"))
    );
    let _ = c.sales_id;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_versions_counts_and_print_pages() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let item = registered(&c, "mold", "前壳模具", 1, Some("M-01")).await?;
    let i = id(&item);
    // Another rep cannot see it: 404 in API and page.
    let (other, _) = Caller::new(&s, "rep2", &["sales_rep"]).await?;
    let (st, _) = other.get(&format!("/api/v1/property/items/{i}")).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let page = s.login("rep2", &password_of("rep2")).await?;
    assert_eq!(
        page.get(s.url(&format!("/property/items/{i}")))
            .send()
            .await?
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, list) = other.get("/api/v1/property/items").await?;
    assert_eq!(list["total"], 0);
    // A stale version is refused.
    let (st, _) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/abnormalities"),
            json!({"kind": "damaged", "description": "x", "version": 1}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT);
    // A mold at its rated life is blocked.
    let (st, _) = c
        .eng
        .post(
            &format!("/api/v1/property/items/{i}/care"),
            json!({"kind": "usage", "usage_count": 1000}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/move"),
            json!({"kind": "issue", "quantity": 1, "from_location": "KG-A01", "order_no": "WO-1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refusal(&e).1.contains("额定寿命"));
    // A count with a variance waits for finance, then enters the ledger.
    let lot = registered(&c, "packaging", "吸塑盘", 50, None).await?;
    let l = id(&lot);
    // Bad input names its field and changes nothing.
    let (st, e) =
        c.wh.post(
            &format!("/api/v1/property/items/{l}/counts"),
            json!({"location": "KG-A01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal(&e).0, "counted_qty");
    let (st, e) =
        c.wh.post(
            &format!("/api/v1/property/items/{l}/abnormalities"),
            json!({"kind": "damaged", "description": "x", "quantity": 51}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refusal(&e).1.contains("结存 50"), "{e}");
    let (st, cnt) =
        c.wh.post(
            &format!("/api/v1/property/items/{l}/counts"),
            json!({"location": "KG-A01", "counted_qty": 48}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(cnt["status"], "pending");
    assert_eq!(cnt["variance"], -2);
    let (st, _) =
        c.wh.post(
            &format!("/api/v1/property/counts/{}/decide", id(&cnt)),
            json!({"approve": true}),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (fin, _) = Caller::new(&s, "fin", &["finance"]).await?;
    let (st, d) = fin
        .post(
            &format!("/api/v1/property/counts/{}/decide", id(&cnt)),
            json!({"approve": true}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{d}");
    let (_, v) = c.wh.get(&format!("/api/v1/property/items/{l}")).await?;
    assert_eq!(v["balance"], 48);
    // Print pages and Excel.
    let keeper = s.login("keeper", &password_of("keeper")).await?;
    for path in [
        "/property",
        "/property/register",
        &format!("/property/items/{l}"),
        &format!("/property/items/{l}/ledger"),
        "/property?list=care",
    ] {
        let r = keeper.get(s.url(path)).send().await?;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let reg = keeper
        .get(s.url("/property/register"))
        .send()
        .await?
        .text()
        .await?;
    assert!(reg.contains("顾客财产清单") && reg.contains("吸塑盘"));
    assert!(
        reg.contains("前壳模具"),
        "the register lists every registered item"
    );
    let list = keeper
        .get(s.url("/property?per_page=1"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        list.contains("1 / 2") && list.contains("page=2"),
        "a pager when the list is longer than a page: {list}"
    );
    let x = keeper
        .get(s.url("/property/register?format=xlsx"))
        .send()
        .await?;
    assert_eq!(x.status(), StatusCode::OK);
    assert!(x.bytes().await?.starts_with(b"PK"));
    Ok(())
}

mod ledger {
    //! Random sequences of operations never make a balance negative, and the
    //! register, the ledger and the counts agree after every step.
    use super::*;
    use kehu::platform::auth::Actor;
    use kehu::property as p;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Issue(i64, bool),
        Return(i64, bool),
        Move(i64),
        Count(i64, bool),
        Scrap(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1i64..40, any::<bool>()).prop_map(|(q, a)| Op::Issue(q, a)),
            (1i64..40, any::<bool>()).prop_map(|(q, a)| Op::Return(q, a)),
            (1i64..40).prop_map(Op::Move),
            (0i64..60, any::<bool>()).prop_map(|(q, a)| Op::Count(q, a)),
            (1i64..20).prop_map(Op::Scrap),
        ]
    }

    async fn actor(s: &TestServer, name: &str, roles: &[&str]) -> anyhow::Result<Actor> {
        let uid = s.add_user(name, roles, None).await?;
        let u = kehu::platform::auth::get_user(&s.state, uid).await?;
        Ok(Actor {
            user_id: u.id,
            username: u.username,
            display_name: u.display_name,
            roles: u.roles,
            team_id: None,
            language: "zh-CN".into(),
            csrf_token: None,
            session_id: None,
        })
    }

    #[test]
    fn random_operations_keep_the_ledger_whole() -> R {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (s, admin, customer) = rt.block_on(async {
            let s = TestServer::start().await?;
            let admin = actor(&s, "boss", &["admin"]).await?;
            let c = kehu::customers::create(
                &s.state,
                &admin,
                kehu::customers::CustomerInput {
                    full_name: Some("东莞市长安镇精工五金厂".into()),
                    customer_type: Some("dealer".into()),
                    ..Default::default()
                },
            )
            .await?;
            anyhow::Ok((s, admin, c.id))
        })?;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 12,
            ..ProptestConfig::default()
        });
        let round = std::sync::atomic::AtomicUsize::new(0);
        let result = runner.run(&proptest::collection::vec(op(), 1..25), |ops| {
            let n = round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(run(&s, &admin, customer, n, ops))
                .map_err(|e| TestCaseError::fail(format!("{e:#}")))
        });
        drop(s);
        result.map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn run(
        s: &TestServer,
        admin: &Actor,
        customer: i64,
        round: usize,
        ops: Vec<Op>,
    ) -> anyhow::Result<()> {
        let st = &s.state;
        let n = p::create_notice(
            st,
            admin,
            p::NoticeInput {
                customer_id: Some(customer),
                expected_on: Some("2026-12-01".into()),
                lines: vec![p::NoticeLineInput {
                    kind: Some("raw_material".into()),
                    item_name: Some(format!("料{round}")),
                    quantity: Some(100),
                    unit: Some("kg".into()),
                    spec: None,
                }],
                ..Default::default()
            },
        )
        .await?;
        let items = p::receive(
            st,
            admin,
            n.id,
            p::ReceiveInput {
                line_id: Some(n.lines[0].id),
                quantity: Some(100),
                packaging_ok: true,
                ..Default::default()
            },
        )
        .await?;
        let i = items[0].id;
        let doc = p::add_document(
            st,
            admin,
            i,
            p::DocumentUpload {
                kind: "report".into(),
                instruction: None,
                order_no: None,
                note: None,
                filename: "r.pdf".into(),
                data: b"%PDF-1.4 r".to_vec(),
            },
        )
        .await?;
        p::verify(
            st,
            admin,
            i,
            p::VerifyInput {
                verdict: Some("accepted".into()),
                report_document_id: Some(doc.id),
                ..Default::default()
            },
        )
        .await?;
        p::register(
            st,
            admin,
            i,
            p::RegisterInput {
                location: Some("KG-A01".into()),
                ..Default::default()
            },
        )
        .await?;
        let scrap_doc = p::add_document(
            st,
            admin,
            i,
            p::DocumentUpload {
                kind: "instruction".into(),
                instruction: Some("scrap".into()),
                order_no: None,
                note: None,
                filename: "s.pdf".into(),
                data: b"%PDF-1.4 s".to_vec(),
            },
        )
        .await?;
        let loc = |a: bool| if a { "KG-A01" } else { "KG-A02" };
        for op in ops {
            let before = p::item(st, admin, i).await?;
            let r = match &op {
                Op::Issue(q, a) => p::move_item(
                    st,
                    admin,
                    i,
                    p::MoveInput {
                        kind: Some("issue".into()),
                        quantity: Some(*q),
                        from_location: Some(loc(*a).into()),
                        order_no: Some("WO".into()),
                        reason: Some("test".into()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ()),
                Op::Return(q, a) => p::move_item(
                    st,
                    admin,
                    i,
                    p::MoveInput {
                        kind: Some("return_from_production".into()),
                        quantity: Some(*q),
                        to_location: Some(loc(*a).into()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ()),
                Op::Move(q) => p::move_item(
                    st,
                    admin,
                    i,
                    p::MoveInput {
                        kind: Some("put_away".into()),
                        quantity: Some(*q),
                        from_location: Some("KG-A01".into()),
                        to_location: Some("KG-A02".into()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ()),
                Op::Count(q, approve) => match p::count(
                    st,
                    admin,
                    i,
                    p::CountInput {
                        location: Some("KG-A01".into()),
                        counted_qty: Some(*q),
                    },
                )
                .await
                {
                    Ok(c) if c.status == "pending" => p::decide_count(
                        st,
                        admin,
                        c.id,
                        p::DecisionInput {
                            approve: *approve,
                            reason: Some("复盘".into()),
                        },
                    )
                    .await
                    .map(|_| ()),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                },
                Op::Scrap(q) => p::end(
                    st,
                    admin,
                    i,
                    p::EndInput {
                        kind: Some("scrap".into()),
                        quantity: Some(*q),
                        from_location: Some("KG-A01".into()),
                        document_id: Some(scrap_doc.id),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ()),
            };
            let after = p::item(st, admin, i).await?;
            // The register's quantity is the ledger replayed; no location below zero.
            let replay = p::replayed_balances(st, i).await?;
            anyhow::ensure!(
                replay.values().all(|q| *q >= 0),
                "negative balance after {op:?}: {replay:?}"
            );
            anyhow::ensure!(
                replay.values().sum::<i64>() == after.balance,
                "register {} ≠ ledger {replay:?} after {op:?}",
                after.balance
            );
            let ledger = p::ledger(st, admin, i).await?;
            anyhow::ensure!(
                ledger.last().map(|m| m.balance_after) == Some(after.balance),
                "running balance ≠ register after {op:?}"
            );
            match r {
                // A refused step changes nothing.
                Err(_) => anyhow::ensure!(
                    after.balance == before.balance && after.version == before.version,
                    "refused {op:?} changed the item"
                ),
                Ok(()) => {
                    // An approved count leaves the book equal to what was counted.
                    if let Op::Count(q, true) = op {
                        anyhow::ensure!(
                            replay.get("KG-A01").copied().unwrap_or(0) == q,
                            "count {q} not in the book: {replay:?}"
                        );
                    }
                }
            }
            if after.balance == 0 && after.state == p::model::ItemState::Ended {
                break;
            }
        }
        Ok(())
    }
}

/// The CSRF token of a signed-in page.
async fn csrf_of(page: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let html = page.get(url).send().await?.text().await?;
    Ok(html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_show_on_the_item_page_beside_the_form() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let older = registered(&c, "component", "端子", 10, None).await?;
    let newer = registered(&c, "component", "端子", 10, None).await?;
    let keeper = s.login("keeper", &password_of("keeper")).await?;
    let url = s.url(&format!("/property/items/{}", id(&newer)));
    let csrf = csrf_of(&keeper, &url).await?;
    let post = |step: &str, form: Vec<(&str, String)>| {
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        keeper
            .post(s.url(&format!("/property/items/{}/{step}", id(&newer))))
            .form(&form)
            .send()
    };
    // FIFO: the older lot is named on the page.
    let r = post(
        "move",
        vec![
            ("kind", "issue".into()),
            ("quantity", "1".into()),
            ("from_location", "KG-A01".into()),
            ("order_no", "WO-1".into()),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await?;
    assert!(
        html.contains("先进先出") && html.contains(older["register_no"].as_str().unwrap_or("?")),
        "FIFO message"
    );
    // Negative balance.
    let r = post(
        "move",
        vec![
            ("kind", "issue".into()),
            ("quantity", "11".into()),
            ("from_location", "KG-A01".into()),
            ("order_no", "WO-1".into()),
            ("reason", "客户指定".into()),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("结存为负"));
    // Another customer's order without consent.
    let (_, other) = c
        .sales
        .post(
            "/api/v1/customers",
            json!({"full_name": "宁波海天塑机有限公司", "customer_type": "dealer"}),
        )
        .await?;
    let r = post(
        "move",
        vec![
            ("kind", "issue".into()),
            ("quantity", "1".into()),
            ("from_location", "KG-A01".into()),
            ("order_no", "WO-X".into()),
            ("reason", "急单".into()),
            (
                "order_customer",
                other["code"].as_str().unwrap_or_default().to_owned(),
            ),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("书面同意"));
    // An end step without the instruction.
    let r = post(
        "end",
        vec![
            ("kind", "scrap".into()),
            ("quantity", "1".into()),
            ("from_location", "KG-A01".into()),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("书面指示"));
    // A blocked item: an open abnormality.
    let r = post(
        "abnormalities",
        vec![
            ("kind", "damaged".into()),
            ("description", "压损".into()),
            ("quantity", "1".into()),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        "move",
        vec![
            ("kind", "issue".into()),
            ("quantity", "1".into()),
            ("from_location", "KG-A01".into()),
            ("order_no", "WO-1".into()),
            ("reason", "客户指定".into()),
        ],
    )
    .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("冻结"));
    // Nothing was issued by any refused form.
    let (_, v) =
        c.wh.get(&format!("/api/v1/property/items/{}/ledger", id(&newer)))
            .await?;
    assert!(
        v["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|m| m["kind"] != "issue"))
    );
    Ok(())
}

/// Fails with both sides when a write's answer differs from what a GET of the record shows.
fn same(step: &str, answer: &Value, get: &Value) {
    assert_eq!(
        answer, get,
        "{step}: the answer differs from a following GET"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_answers_the_record_as_a_following_get_shows_it() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let (st, n) = c
        .sales
        .post(
            "/api/v1/property/notices",
            json!({"customer_id": c.customer, "order_no": "SO-9", "expected_on": "2026-12-01",
                   "lines": [{"kind": "raw_material", "item_name": "PA66 粒料", "quantity": 100, "unit": "kg"}]}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    let notice = format!("/api/v1/property/notices/{}", id(&n));
    same("notice", &n, &c.sales.get(&notice).await?.1);
    let (st, n2) = c
        .sales
        .post(
            &format!("{notice}/lines"),
            json!({"kind": "packaging", "item_name": "纸箱", "quantity": 4, "unit": "个"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{n2}");
    same("notice line", &n2, &c.sales.get(&notice).await?.1);
    let line = n["lines"][0]["id"].as_i64().unwrap_or_default();
    let (st, items) =
        c.wh.post(
            &format!("{notice}/receive"),
            json!({"line_id": line, "quantity": 100, "packaging_ok": true, "lot_no": "L-1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{items}");
    let path = format!("/api/v1/property/items/{}", id(&items[0]));
    let get = || async { anyhow::Ok(c.wh.get(&path).await?.1) };
    same("receive", &items[0], &get().await?);
    assert_eq!(items[0]["balances"][0]["quantity"], 100, "{items}");
    let (_, doc) = document(&c.qa, id(&items[0]), &[("kind", "report")]).await?;
    let (_, docs) = c.qa.get(&format!("{path}/documents")).await?;
    same("document", &doc, &docs["items"][0]);
    let (_, v) = c
        .qa
        .post(
            &format!("{path}/verify"),
            json!({"verdict": "accepted", "report_document_id": id(&doc), "version": items[0]["version"]}),
        )
        .await?;
    same("verify", &v, &get().await?);
    let (_, v) =
        c.wh.post(
            &format!("{path}/register"),
            json!({"location": "KG-A01", "version": v["version"]}),
        )
        .await?;
    same("register", &v, &get().await?);
    let (_, v) =
        c.wh.post(
            &format!("{path}/move"),
            json!({"kind": "issue", "quantity": 30, "from_location": "KG-A01", "order_no": "WO-7"}),
        )
        .await?;
    same("issue", &v, &get().await?);
    let (st, a) =
        c.wh.post(
            &format!("{path}/abnormalities"),
            json!({"kind": "damaged", "description": "外箱压损", "quantity": 2}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let abnormality = format!("/api/v1/property/abnormalities/{}", id(&a));
    same("abnormality", &a, &c.wh.get(&abnormality).await?.1);
    let (_, a) = c
        .sales
        .post(
            &format!("{abnormality}/notify"),
            json!({"notification": "电话通知采购李经理"}),
        )
        .await?;
    same("notify", &a, &c.wh.get(&abnormality).await?.1);
    let (st, count) =
        c.wh.post(
            &format!("{path}/counts"),
            json!({"location": "KG-A01", "counted_qty": 67}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{count}");
    let (_, counts) = c.wh.get(&format!("{path}/counts")).await?;
    same("count", &count, &counts["items"][0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_items_history_reads_in_the_policys_words() -> R {
    let s = TestServer::start().await?;
    let c = cast(&s).await?;
    let item = registered(&c, "raw_material", "PA66 粒料", 100, None).await?;
    let i = id(&item);
    let (st, v) =
        c.wh.post(
            &format!("/api/v1/property/items/{i}/move"),
            json!({"kind": "issue", "quantity": 30, "from_location": "KG-A01", "order_no": "WO-7"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, page) = c.wh.page(&format!("/property/items/{i}")).await?;
    let history = page.split("id=\"history\"").nth(1).unwrap_or_default();
    for words in [
        "待检",
        "已验证待登记",
        "在库",
        "结存",
        "订单",
        "WO-7",
        "合格",
    ] {
        assert!(history.contains(words), "{words} missing from {history}");
    }
    for code in [
        "pending_inspection",
        "verified",
        "registered",
        "<b>balance",
        "order_no",
        "accepted",
        "property_issue",
    ] {
        assert!(!history.contains(code), "{code} shown in {history}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_use_the_public_address_and_show_where_and_how_much() -> R {
    let s = TestServer::start_with(kehu::platform::clock::Clock::system(), |c| {
        c.public_url = Some("https://kehu.example.com".into());
    })
    .await?;
    let c = cast(&s).await?;
    let item = registered(&c, "raw_material", "PA66 粒料", 100, None).await?;
    let i = id(&item);
    let (_, label) = c.wh.page(&format!("/property/labels?ids={i}")).await?;
    assert!(
        label.contains(&format!("https://kehu.example.com/property/items/{i}")),
        "{label}"
    );
    assert!(!label.contains("KEHU_PUBLIC_URL"), "no warning when set");
    for shown in ["库位", "KG-A01", "数量", "100 件"] {
        assert!(label.contains(shown), "{shown}: {label}");
    }
    // A gauge's register line says when its calibration falls due.
    let gauge = registered(&c, "gauge", "卡尺", 1, Some("SN-1")).await?;
    let (_, register) = c.wh.page("/property/register").await?;
    assert!(register.contains("<th>库位</th>"), "{register}");
    let due = gauge["calibration_due_on"].as_str().unwrap_or("?");
    assert!(
        register.contains(&format!("校准 {due}")),
        "{due}: {register}"
    );
    // Without the setting the page says where the codes point, and that it is unset.
    let plain = TestServer::start().await?;
    let c = cast(&plain).await?;
    let item = registered(&c, "raw_material", "PA66 粒料", 10, None).await?;
    let (_, label) =
        c.wh.page(&format!("/property/labels?ids={}", id(&item)))
            .await?;
    assert!(label.contains("KEHU_PUBLIC_URL"), "{label}");
    assert!(label.contains(&plain.base), "{label}");
    Ok(())
}
