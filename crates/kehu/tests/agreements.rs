//! Consignment (寄售) and custody (寄养) agreements through the API and pages, on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use chrono::{DateTime, Duration, Utc};
use kehu::platform::clock::Clock;
use kehu::testing::{Caller, TestServer, fields, password_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

fn message(v: &Value) -> String {
    v["error"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn at(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

/// A server whose clock stands at `now`, a sales rep owning one customer, a warehouse clerk and
/// a finance clerk.
struct World {
    s: TestServer,
    rep: Caller,
    rep_id: i64,
    warehouse: Caller,
    finance: Caller,
    customer_id: i64,
}

async fn world(now: &str) -> anyhow::Result<World> {
    let s = TestServer::start_with_clock(Clock::fixed(at(now)?)).await?;
    let (rep, rep_id) = Caller::new(&s, "rep", &["sales_rep"]).await?;
    let (warehouse, _) = Caller::new(&s, "wh", &["warehouse"]).await?;
    let (finance, _) = Caller::new(&s, "fin", &["finance"]).await?;
    let (st, c) = rep
        .post(
            "/api/v1/customers",
            json!({"full_name": "宁波恒通日用品有限公司", "customer_type": "dealer"}),
        )
        .await?;
    anyhow::ensure!(st == StatusCode::CREATED, "customer: {st} {c}");
    let customer_id = c["id"].as_i64().unwrap_or_default();
    Ok(World {
        s,
        rep,
        rep_id,
        warehouse,
        finance,
        customer_id,
    })
}

const CONSIGNMENT: &str = "/api/v1/property/consignment";
const CUSTODY: &str = "/api/v1/property/custody";

/// A consignment agreement for the world's customer, with 10 个 of 保温杯 500ml received.
async fn consignment_with_stock(w: &World, start: &str, end: &str) -> anyhow::Result<Value> {
    let (st, a) = w
        .rep
        .post(
            CONSIGNMENT,
            json!({"customer_id": w.customer_id, "start_date": start, "end_date": end}),
        )
        .await?;
    anyhow::ensure!(st == StatusCode::CREATED, "agreement: {st} {a}");
    let (st, a) = w
        .warehouse
        .post(
            &format!("{CONSIGNMENT}/{}/receipts", a["id"]),
            json!({"item": "保温杯", "spec": "500ml", "unit": "个", "quantity": "10",
                   "unit_price": "120.00", "received_at": start}),
        )
        .await?;
    anyhow::ensure!(st == StatusCode::CREATED, "receipt: {st} {a}");
    Ok(a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_commission_and_a_stock_that_never_goes_negative() -> R {
    let w = world("2026-03-10T02:00:00Z").await?;
    let a = consignment_with_stock(&w, "2026-03-01", "2026-12-31").await?;
    let id = a["id"].as_i64().unwrap_or_default();
    let path = format!("{CONSIGNMENT}/{id}");
    // The number follows the policy format, the ratios the policy defaults.
    assert_eq!(a["number"], "JSXY-2026-0001");
    assert_eq!(
        (a["cost_ratio"].as_str(), a["consignment_ratio"].as_str()),
        (Some("0.60"), Some("0.10"))
    );
    assert_eq!(a["stock"][0]["on_hand"], "10");
    let item_id = a["stock"][0]["item_id"].clone();

    // 100.00 × (1 − 0.60) × 0.10 = 4.00
    let (st, after) = w
        .rep
        .post(
            &format!("{path}/sales"),
            json!({"item_id": item_id, "quantity": "1", "amount": "100.00", "sold_at": "2026-03-09T15:00:00+08:00"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{after}");
    assert_eq!(after["movements"][0]["kind"], "sale");
    assert_eq!(after["movements"][0]["amount"], "100.00");
    assert_eq!(after["movements"][0]["commission"], "4.00");
    assert_eq!(after["stock"][0]["on_hand"], "9");
    assert_eq!(after["stock"][0]["sold"], "1");

    // Selling or returning more than the stock is refused, naming the field, and changes nothing.
    let before = w.rep.get(&path).await?.1;
    let (st, e) = w
        .rep
        .post(
            &format!("{path}/sales"),
            json!({"item_id": item_id, "quantity": 10, "amount": "1000"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(fields(&e), ["quantity"]);
    assert!(
        message(&e).contains("保温杯") && message(&e).contains('9'),
        "{e}"
    );
    let (st, e) = w
        .warehouse
        .post(
            &format!("{path}/returns"),
            json!({"item_id": item_id, "quantity": "9.001"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["quantity".to_owned()]
        )
    );
    let after = w.rep.get(&path).await?.1;
    assert_eq!(after, before, "nothing changed");

    // In English too.
    let r = w
        .rep
        .client
        .post(format!("{}{path}/sales", w.rep.base))
        .bearer_auth(&w.rep.token)
        .header("Accept-Language", "en")
        .json(&json!({"item_id": item_id, "quantity": "12", "amount": "1"}))
        .send()
        .await?;
    let e: Value = r.json().await?;
    assert!(message(&e).starts_with("only 9 个 of 保温杯"), "{e}");

    // Roles: the warehouse may not sell, finance may not receive goods; bad input is named.
    let sale = json!({"item_id": item_id, "quantity": "1", "amount": "10"});
    assert_eq!(
        w.warehouse
            .post(&format!("{path}/sales"), sale.clone())
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.finance
            .post(
                &format!("{path}/receipts"),
                json!({"item": "x", "quantity": "1"})
            )
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    let (st, e) = w
        .rep
        .post(
            &format!("{path}/sales"),
            json!({"item_id": item_id, "quantity": "0", "amount": "1.001", "sold_at": "2026-03-11"}),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&e), ["quantity", "amount", "sold_at"], "{e}");
    // A sale outside the agreement's period.
    let (st, e) = w
        .rep
        .post(
            &format!("{path}/sales"),
            json!({"item_id": item_id, "quantity": "1", "amount": "10", "sold_at": "2026-02-28T23:59:00+08:00"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["sold_at".to_owned()])
    );
    let (st, e) = w
        .rep
        .post(CONSIGNMENT, json!({"customer_id": w.customer_id, "cost_ratio": "1.2", "start_date": "2026-05-01", "end_date": "2026-04-01"}))
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&e), ["end_date", "cost_ratio"], "{e}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_statement_holds_exactly_the_months_sales_in_the_policy_time_zone() -> R {
    let w = world("2026-04-02T04:00:00Z").await?;
    let a = consignment_with_stock(&w, "2026-03-01", "2026-12-31").await?;
    let id = a["id"].as_i64().unwrap_or_default();
    let path = format!("{CONSIGNMENT}/{id}");
    let item_id = a["stock"][0]["item_id"].clone();
    for (sold_at, amount) in [
        ("2026-03-01T00:00:00+08:00", "100.00"), // March's first instant (28 Feb 16:00 UTC)
        ("2026-03-15T10:00:00+08:00", "250.50"),
        ("2026-03-31T23:30:00+08:00", "80.00"), // 15:30 UTC on the 31st: still March
        ("2026-03-31T16:30:00Z", "999.00"),     // 00:30 on 1 April in Beijing: April
        ("2026-04-01T09:00", "12.34"),          // local time without offset: April
    ] {
        let (st, e) = w
            .rep
            .post(
                &format!("{path}/sales"),
                json!({"item_id": item_id, "quantity": "1", "amount": amount, "sold_at": sold_at}),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{sold_at}: {e}");
    }
    let (st, m) = w
        .rep
        .get(&format!("{path}/statement?month=2026-03"))
        .await?;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["sales_count"], 3);
    assert_eq!(m["sales"], "430.50");
    // 4.00 + 10.02 + 3.20
    assert_eq!(m["commission"], "17.22");
    assert_eq!(m["due"], "413.28");
    assert_eq!(m["lines"][2]["sold_local"], "2026-03-31 23:30");
    assert_eq!(m["from"], "2026-02-28T16:00:00Z");
    assert_eq!(m["to"], "2026-03-31T16:00:00Z");
    assert!(m["settlement"].is_null());
    let (_, april) = w
        .rep
        .get(&format!("{path}/statement?month=2026-04"))
        .await?;
    assert_eq!(
        (april["sales_count"].as_i64(), april["sales"].as_str()),
        (Some(2), Some("1011.34"))
    );
    // Everyone who can see the customer can read the statement; a bad month is named.
    assert_eq!(
        w.warehouse
            .get(&format!("{path}/statement?month=2026-03"))
            .await?
            .0,
        StatusCode::OK
    );
    let (st, e) = w.rep.get(&format!("{path}/statement?month=2026-3")).await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["month".to_owned()])
    );

    // The printable page and the Excel file carry the same figures.
    let (st, html) = w
        .rep
        .page(&format!(
            "/property/consignment/{id}/statement?month=2026-03"
        ))
        .await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("寄售月度结算单") && html.contains("class=\"card statement\""),
        "print page"
    );
    // Laid out for A4 by the stylesheet (pages carry no inline style).
    let (_, css) = w.rep.page("/assets/kehu.css").await?;
    assert!(
        css.contains("@page { size: A4") && css.contains(".statement"),
        "{css}"
    );
    assert!(html.contains(">430.50<") && html.contains(">17.22<") && html.contains(">413.28<"));
    let r = w
        .rep
        .client
        .get(w.s.url(&format!(
            "/property/consignment/{id}/statement?month=2026-03&format=xlsx"
        )))
        .bearer_auth(&w.rep.token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("spreadsheetml"))
    );
    let bytes = r.bytes().await?.to_vec();
    use calamine::{DataType, Reader};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes))?;
    let sheet = book.worksheet_range("2026-03")?;
    let numbers: Vec<f64> = sheet
        .rows()
        .next_back()
        .map(|row| row.iter().filter_map(|c| c.get_float()).collect())
        .unwrap_or_default();
    assert_eq!(numbers, [430.5, 17.22, 413.28]);
    let api_xlsx = w
        .rep
        .page(&format!("{path}/statement?month=2026-03&format=xlsx"))
        .await?;
    assert_eq!(api_xlsx.0, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_month_refuses_a_sale_and_keeps_its_number() -> R {
    let w = world("2026-04-02T04:00:00Z").await?;
    let a = consignment_with_stock(&w, "2026-03-01", "2026-12-31").await?;
    let path = format!("{CONSIGNMENT}/{}", a["id"]);
    let item_id = a["stock"][0]["item_id"].clone();
    let sale =
        |when: &str| json!({"item_id": item_id, "quantity": "1", "amount": "100", "sold_at": when});
    assert_eq!(
        w.rep
            .post(&format!("{path}/sales"), sale("2026-03-05"))
            .await?
            .0,
        StatusCode::CREATED
    );
    // A month that has not ended cannot be closed; the warehouse may not close at all.
    let (st, e) = w
        .finance
        .post(&format!("{path}/settlements"), json!({"month": "2026-04"}))
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["month".to_owned()])
    );
    assert_eq!(
        w.warehouse
            .post(&format!("{path}/settlements"), json!({"month": "2026-03"}))
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    let (st, closed) = w
        .finance
        .post(&format!("{path}/settlements"), json!({"month": "2026-03"}))
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{closed}");
    assert_eq!(closed["number"], "JS-202603-0001");
    assert_eq!(
        (
            closed["sales"].as_str(),
            closed["commission"].as_str(),
            closed["due"].as_str()
        ),
        (Some("100.00"), Some("4.00"), Some("96.00"))
    );
    let (st, e) = w
        .rep
        .post(&format!("{path}/sales"), sale("2026-03-31T23:30:00+08:00"))
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["sold_at".to_owned()])
    );
    assert!(message(&e).contains("JS-202603-0001"), "{e}");
    assert_eq!(
        w.rep
            .post(&format!("{path}/sales"), sale("2026-04-01T00:00:00+08:00"))
            .await?
            .0,
        StatusCode::CREATED
    );
    // Closing twice is a conflict; the statement shows its number.
    assert_eq!(
        w.finance
            .post(&format!("{path}/settlements"), json!({"month": "2026-03"}))
            .await?
            .0,
        StatusCode::CONFLICT
    );
    let (_, m) = w
        .rep
        .get(&format!("{path}/statement?month=2026-03"))
        .await?;
    assert_eq!(m["settlement"]["number"], "JS-202603-0001");
    assert_eq!(m["sales_count"], 1);
    let (_, view) = w.rep.get(&path).await?;
    assert_eq!(view["settlements"][0]["month"], "2026-03");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_versions_are_refused_and_an_agreement_ends_only_without_stock() -> R {
    let w = world("2026-03-10T02:00:00Z").await?;
    let (st, a) = w
        .rep
        .post(CONSIGNMENT, json!({"customer_id": w.customer_id, "start_date": "2026-03-01", "cost_ratio": "0.5", "consignment_ratio": 0}))
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    // The default term: twelve months less a day.
    assert_eq!(a["end_date"], "2027-02-28");
    assert_eq!(
        (a["cost_ratio"].as_str(), a["consignment_ratio"].as_str()),
        (Some("0.50"), Some("0.00"))
    );
    let path = format!("{CONSIGNMENT}/{}", a["id"]);
    let v1 = a["version"].clone();
    // Goods received since the caller read version 1: its edit is stale.
    let (_, a) = w
        .warehouse
        .post(
            &format!("{path}/receipts"),
            json!({"item": "保温杯", "quantity": "5"}),
        )
        .await?;
    assert_eq!(a["version"], 2);
    let (st, e) = w
        .rep
        .patch(&path, json!({"version": v1, "consignment_ratio": "0.15"}))
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "stale_version");
    assert_eq!(
        w.rep.get(&path).await?.1["consignment_ratio"],
        "0.00",
        "nothing changed"
    );
    let (st, a) = w
        .rep
        .patch(
            &path,
            json!({"version": 2, "consignment_ratio": "0.15", "reason": "补充协议"}),
        )
        .await?;
    assert_eq!(
        (st, a["consignment_ratio"].as_str()),
        (StatusCode::OK, Some("0.15"))
    );
    assert_eq!(
        w.rep.patch(&path, json!({"cost_ratio": "0.4"})).await?.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // With stock the agreement cannot end; "return all unsold" needs the current version too.
    let (st, e) = w
        .rep
        .post(&format!("{path}/end"), json!({"version": 3}))
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("退还"),
        "{e}"
    );
    assert_eq!(
        w.warehouse
            .post(&format!("{path}/return-unsold"), json!({"version": 2}))
            .await?
            .0,
        StatusCode::CONFLICT
    );
    let (st, a) = w
        .warehouse
        .post(
            &format!("{path}/return-unsold"),
            json!({"version": 3, "reason": "协议到期"}),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["stock"][0]["on_hand"], "0");
    assert_eq!(a["stock"][0]["returned"], "5");
    assert_eq!(a["goods_held"], false);
    let (st, a) = w
        .rep
        .post(&format!("{path}/end"), json!({"version": a["version"]}))
        .await?;
    assert_eq!(
        (st, a["status"].as_str()),
        (StatusCode::OK, Some("ended")),
        "{a}"
    );
    // Nothing more can be recorded on an ended agreement.
    let (st, e) = w
        .warehouse
        .post(
            &format!("{path}/receipts"),
            json!({"item": "保温杯", "quantity": "1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    // Every step is in the audit log.
    let admin = Caller {
        client: w.s.client(),
        token: w.s.token(1).await?,
        base: w.s.base.clone(),
    };
    let (_, log) = admin
        .get("/api/v1/audit?entity_type=consignment_agreement")
        .await?;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["create", "receipt", "update", "return_unsold", "end"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_reps_customer_is_not_found_and_read_only_roles_may_not_act() -> R {
    let w = world("2026-03-10T02:00:00Z").await?;
    let a = consignment_with_stock(&w, "2026-03-01", "2026-12-31").await?;
    let path = format!("{CONSIGNMENT}/{}", a["id"]);
    let (other, _) = Caller::new(&w.s, "rep2", &["sales_rep"]).await?;
    let (quality, _) = Caller::new(&w.s, "qa", &["quality"]).await?;
    assert_eq!(other.get(&path).await?.0, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .get(&format!("{path}/statement?month=2026-03"))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    let sale = json!({"item_id": a["stock"][0]["item_id"], "quantity": "1", "amount": "10"});
    assert_eq!(
        other.post(&format!("{path}/sales"), sale.clone()).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.patch(&path, json!({"version": 2})).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post(CONSIGNMENT, json!({"customer_id": w.customer_id}))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other.get(CONSIGNMENT).await?.1["total"], 0);
    assert_eq!(
        other
            .page(&format!("/property/consignment/{}", a["id"]))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    // The owner's list and filters find it; quality reads but may not sell.
    assert_eq!(w.rep.get(CONSIGNMENT).await?.1["total"], 1);
    assert_eq!(
        w.rep.get(&format!("{CONSIGNMENT}?q=JSXY-2026")).await?.1["total"],
        1
    );
    assert_eq!(
        w.rep.get(&format!("{CONSIGNMENT}?q=恒通")).await?.1["total"],
        1
    );
    assert_eq!(
        w.rep.get(&format!("{CONSIGNMENT}?status=ended")).await?.1["total"],
        0
    );
    assert_eq!(
        w.rep
            .get(&format!("{CONSIGNMENT}?customer_id={}", w.customer_id))
            .await?
            .1["total"],
        1
    );
    assert_eq!(quality.get(&path).await?.0, StatusCode::OK);
    assert_eq!(
        quality.post(&format!("{path}/sales"), sale).await?.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        quality
            .post(CONSIGNMENT, json!({"customer_id": w.customer_id}))
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    // Custody follows the same scope.
    let (st, k) = w
        .rep
        .post(
            CUSTODY,
            json!({"customer_id": w.customer_id, "monthly_fee": "300"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    assert_eq!(
        other.get(&format!("{CUSTODY}/{}", k["id"])).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post(
                &format!("{CUSTODY}/{}/payments", k["id"]),
                json!({"amount": "1"})
            )
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other.get(CUSTODY).await?.1["total"], 0);
    assert_eq!(w.warehouse.get(CUSTODY).await?.1["total"], 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custody_fees_payments_and_late_fees_add_up() -> R {
    let w = world("2026-04-20T04:00:00Z").await?;
    let (st, k) = w
        .rep
        .post(
            CUSTODY,
            json!({"customer_id": w.customer_id, "start_date": "2026-01-15", "end_date": "2026-06-30", "monthly_fee": "300.00"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    assert_eq!(k["number"], "JYXY-2026-0001");
    // The policy's defaults: 0.05 % a day, due on the 10th.
    assert_eq!(
        (k["late_fee_rate"].as_str(), k["payment_due_day"].as_i64()),
        (Some("0.0005"), Some(10))
    );
    let path = format!("{CUSTODY}/{}", k["id"]);
    let (st, k) = w
        .warehouse
        .post(
            &format!("{path}/check-ins"),
            json!({"item": "红木书柜", "unit": "件", "quantity": 10, "moved_on": "2026-01-20"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    // Each month held costs 300.00, due on the 10th of the next month; 0.15 a day late:
    // January 69 days (10 Feb → 20 Apr) = 10.35, February 41 = 6.15, March 10 = 1.50.
    let s = &k["schedule"];
    let months: Vec<&str> = s["months"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["month"].as_str())
        .collect();
    assert_eq!(months, ["2026-01", "2026-02", "2026-03", "2026-04"]);
    let late: Vec<&str> = s["months"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["late_fee"].as_str())
        .collect();
    assert_eq!(late, ["10.35", "6.15", "1.50", "0.00"]);
    assert_eq!(s["months"][0]["due_on"], "2026-02-10");
    assert_eq!(s["months"][0]["days_late"], 69);
    assert_eq!(
        (
            s["fees"].as_str(),
            s["late_fees"].as_str(),
            s["overdue"].as_str(),
            s["balance"].as_str()
        ),
        (
            Some("1200.00"),
            Some("18.00"),
            Some("900.00"),
            Some("1218.00")
        )
    );

    // Finance records January's fee paid ten days late: its late fee stops at 1.50.
    let (st, k) = w
        .finance
        .post(
            &format!("{path}/payments"),
            json!({"amount": "300.00", "paid_on": "2026-02-20", "reference": "银行回单 0042"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let s = &k["schedule"];
    assert_eq!(s["months"][0]["late_fee"], "1.50");
    assert_eq!(s["months"][0]["paid"], "300.00");
    assert_eq!(
        (s["late_fees"].as_str(), s["balance"].as_str()),
        (Some("9.15"), Some("909.15"))
    );
    // As of an earlier date: fewer months, fewer days.
    let (_, k) = w.rep.get(&format!("{path}?as_of=2026-03-01")).await?;
    let s = &k["schedule"];
    assert_eq!(s["months"].as_array().map(Vec::len), Some(3));
    // January: paid on 20 Feb, 10 days late = 1.50; February not due until 10 March.
    assert_eq!(
        (s["late_fees"].as_str(), s["paid"].as_str()),
        (Some("1.50"), Some("300.00"))
    );
    assert_eq!(
        w.rep.get(&format!("{path}?as_of=2026-13-01")).await?.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Payments: only finance and sales; no zero, no future date.
    assert_eq!(
        w.warehouse
            .post(&format!("{path}/payments"), json!({"amount": "1"}))
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    let (st, e) = w
        .finance
        .post(
            &format!("{path}/payments"),
            json!({"amount": "0", "paid_on": "2026-04-21"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["amount".to_owned(), "paid_on".to_owned()]
        )
    );

    // Goods out: never more than held; collected goods stop the fees from May on.
    let item_id = k["stock"][0]["item_id"].clone();
    let (st, e) = w
        .warehouse
        .post(
            &format!("{path}/check-outs"),
            json!({"item_id": item_id, "quantity": "10.5"}),
        )
        .await?;
    assert_eq!(
        (st, fields(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["quantity".to_owned()]
        )
    );
    let (st, k) = w
        .warehouse
        .post(
            &format!("{path}/check-outs"),
            json!({"item_id": item_id, "quantity": "10"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    assert_eq!(k["goods_held"], false);
    let (_, k) = w.rep.get(&format!("{path}?as_of=2026-06-30")).await?;
    let fees: Vec<&str> = k["schedule"]["months"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["fee"].as_str())
        .collect();
    assert_eq!(
        fees,
        ["300.00", "300.00", "300.00", "300.00", "0.00", "0.00"]
    );
    // The page shows the same schedule.
    let (st, html) = w
        .rep
        .page(&format!("/property/custody/{}?as_of=2026-04-20", k["id"]))
        .await?;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("¥9.15") && html.contains("¥909.15"),
        "page totals"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goods_not_collected_are_a_task_from_n_days_before_the_end() -> R {
    let w = world("2026-06-10T04:00:00Z").await?;
    let (_, k) = w
        .rep
        .post(
            CUSTODY,
            json!({"customer_id": w.customer_id, "start_date": "2026-01-01", "end_date": "2026-06-30", "monthly_fee": "100"}),
        )
        .await?;
    let path = format!("{CUSTODY}/{}", k["id"]);
    let number = k["number"].as_str().unwrap_or_default().to_owned();
    let (st, k) = w
        .warehouse
        .post(
            &format!("{path}/check-ins"),
            json!({"item": "钢琴", "quantity": "1", "moved_on": "2026-01-02"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let (other, _) = Caller::new(&w.s, "rep2", &["sales_rep"]).await?;
    let home = |c: &Caller| {
        let c = Caller {
            client: c.client.clone(),
            token: c.token.clone(),
            base: c.base.clone(),
        };
        async move { c.page("/").await.map(|(_, h)| h) }
    };
    // 20 days before the end: nothing yet (the policy says 7).
    assert!(!home(&w.rep).await?.contains(&number));
    // 6 days before: the owner and the warehouse see it, another rep does not.
    w.s.clock.set(at("2026-06-24T02:00:00Z")?);
    let h = home(&w.rep).await?;
    assert!(
        h.contains(&number) && h.contains("将于 2026-06-30 到期"),
        "owner task"
    );
    assert!(
        home(&w.warehouse).await?.contains(&number),
        "warehouse task"
    );
    assert!(!home(&other).await?.contains(&number));
    assert!(!home(&w.finance).await?.contains(&number));
    // After the end: an overdue task until the goods are collected.
    w.s.clock.advance(Duration::days(11));
    let h = home(&w.rep).await?;
    assert!(
        h.contains("已于 2026-06-30 到期，货物仍未领取") && h.contains("class=\"overdue\""),
        "overdue task"
    );
    let item_id = k["stock"][0]["item_id"].clone();
    let (st, _) = w
        .warehouse
        .post(
            &format!("{path}/check-outs"),
            json!({"item_id": item_id, "quantity": "1"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED);
    assert!(!home(&w.rep).await?.contains(&number), "collected: no task");
    // Consignment: unsold goods near the end are a task as well (15 days by default).
    let a = consignment_with_stock(&w, "2026-01-01", "2026-07-20").await?;
    let h = home(&w.rep).await?;
    assert!(
        h.contains(a["number"].as_str().unwrap_or("?")),
        "consignment task"
    );
    let _ = w.rep_id;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_record_agreements_and_show_errors_beside_the_form() -> R {
    let w = world("2026-03-10T02:00:00Z").await?;
    let page = w.s.login("rep", &password_of("rep")).await?;
    let home = page
        .get(w.s.url("/property/consignment"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let (_, c) = w
        .rep
        .get(&format!("/api/v1/customers/{}", w.customer_id))
        .await?;
    let code = c["code"].as_str().unwrap_or_default();
    let r = page
        .post(w.s.url("/property/consignment"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("customer", code),
            ("start_date", "2026-03-01"),
            ("end_date", ""),
            ("cost_ratio", "0.60"),
            ("consignment_ratio", "0.10"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(to.starts_with("/property/consignment/"), "{to}");
    let r = page
        .post(w.s.url(&format!("{to}/receipts")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("item", "保温杯"),
            ("quantity", "2"),
            ("received_at", "2026-03-09T10:00"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let detail = page.get(w.s.url(&to)).send().await?.text().await?;
    let item_id = detail
        .split("name=\"item_id\" required><option value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let r = page
        .post(w.s.url(&format!("{to}/sales")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("item_id", item_id.as_str()),
            ("quantity", "3"),
            ("amount", "300"),
            ("sold_at", "2026-03-09T11:00"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await?;
    assert!(body.contains("保温杯 结存仅 2"), "the refusal is shown");
    let r = page
        .post(w.s.url(&format!("{to}/sales")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("item_id", item_id.as_str()),
            ("quantity", "2"),
            ("amount", "100.00"),
            ("sold_at", "2026-03-09T11:00"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let detail = page.get(w.s.url(&to)).send().await?.text().await?;
    assert!(detail.contains("¥4.00"), "commission shown");
    // A custody agreement through its page, with an unknown customer first.
    let r = page
        .post(w.s.url("/property/custody"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("customer", "C1999000001"),
            ("monthly_fee", "100"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("C1999000001"));
    let r = page
        .post(w.s.url("/property/custody"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("customer", code),
            ("monthly_fee", "100"),
            ("payment_due_day", "15"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list = page
        .get(w.s.url("/property/custody"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains("JYXY-2026-0001") && list.contains("宁波恒通"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sales_never_take_the_stock_below_zero() -> R {
    let w = world("2026-03-10T02:00:00Z").await?;
    let (st, a) = w
        .rep
        .post(
            CONSIGNMENT,
            json!({"customer_id": w.customer_id, "start_date": "2026-03-01"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let path = format!("{CONSIGNMENT}/{}", a["id"]);
    let (_, a) = w
        .warehouse
        .post(
            &format!("{path}/receipts"),
            json!({"item": "保温杯", "quantity": "5"}),
        )
        .await?;
    let item_id = a["stock"][0]["item_id"].clone();
    let sales = (0..8).map(|_| {
        let (c, token, url) = (
            w.rep.client.clone(),
            w.rep.token.clone(),
            w.s.url(&format!("{path}/sales")),
        );
        let body = json!({"item_id": item_id, "quantity": "1", "amount": "10"});
        tokio::spawn(async move {
            c.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        })
    });
    let mut statuses = Vec::new();
    for s in sales {
        statuses.push(s.await??);
    }
    let ok = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((ok, refused), (5, 3), "{statuses:?}");
    let (_, a) = w.rep.get(&path).await?;
    assert_eq!(a["stock"][0]["on_hand"], "0");
    assert_eq!(a["stock"][0]["sold"], "5");
    // Every sale moved the version once: 1 + receipt + 5 sales.
    assert_eq!(a["version"], 7);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_answers_the_agreement_as_a_following_get_shows_it() -> R {
    let w = world("2026-04-20T04:00:00Z").await?;
    let a = consignment_with_stock(&w, "2026-03-01", "2026-12-31").await?;
    let path = format!("{CONSIGNMENT}/{}", a["id"]);
    let get = || async { anyhow::Ok(w.rep.get(&path).await?.1) };
    assert_eq!(a, get().await?, "receipt");
    let item_id = a["stock"][0]["item_id"].clone();
    let (st, v) = w
        .rep
        .post(
            &format!("{path}/sales"),
            json!({"item_id": item_id, "quantity": "2", "amount": "240.00", "sold_at": "2026-03-15"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v, get().await?, "sale");
    let (st, v) = w
        .warehouse
        .post(
            &format!("{path}/returns"),
            json!({"item_id": item_id, "quantity": "1", "returned_at": "2026-03-20"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v, get().await?, "return");
    let (st, v) = w
        .finance
        .post(&format!("{path}/settlements"), json!({"month": "2026-03"}))
        .await?;
    assert!(st.is_success(), "{v}");
    let now = get().await?;
    assert_eq!(v, now["settlements"][0], "settlement");
    let (_, v) = w
        .rep
        .patch(
            &path,
            json!({"version": now["version"], "notes": "月底对账"}),
        )
        .await?;
    assert_eq!(v, get().await?, "edit");
    // Custody.
    let (st, k) = w
        .rep
        .post(
            CUSTODY,
            json!({"customer_id": w.customer_id, "start_date": "2026-01-15", "monthly_fee": "300.00"}),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let path = format!("{CUSTODY}/{}", k["id"]);
    let get = || async { anyhow::Ok(w.rep.get(&path).await?.1) };
    assert_eq!(k, get().await?, "custody");
    let (_, k) = w
        .warehouse
        .post(
            &format!("{path}/check-ins"),
            json!({"item": "红木书柜", "unit": "件", "quantity": 10, "moved_on": "2026-01-20"}),
        )
        .await?;
    assert_eq!(k, get().await?, "check-in");
    let (_, k) = w
        .finance
        .post(
            &format!("{path}/payments"),
            json!({"amount": "300.00", "paid_on": "2026-02-05"}),
        )
        .await?;
    assert_eq!(k, get().await?, "payment");
    let item_id = k["stock"][0]["item_id"].clone();
    let (_, k) = w
        .warehouse
        .post(
            &format!("{path}/check-outs"),
            json!({"item_id": item_id, "quantity": 10, "moved_on": "2026-04-01"}),
        )
        .await?;
    assert_eq!(k, get().await?, "check-out");
    Ok(())
}
