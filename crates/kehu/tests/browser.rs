//! A real browser (headless Chromium through chromedriver) logs in through
//! the login page and sees the home page. Skipped when chromedriver is not
//! installed, unless `KEHU_REQUIRE_BROWSER=1` (as in CI) makes that a failure.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kehu::testing::{ADMIN_PASSWORD, TestServer, password_of};
use thirtyfour::prelude::*;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver_path() -> Option<String> {
    let candidates = [
        std::env::var("KEHU_CHROMEDRIVER").unwrap_or_default(),
        "/usr/bin/chromedriver".into(),
    ];
    candidates
        .into_iter()
        .find(|p| !p.is_empty() && std::path::Path::new(p).exists())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start_driver() -> anyhow::Result<Option<(Driver, WebDriver)>> {
    let Some(path) = chromedriver_path() else {
        if std::env::var("KEHU_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            anyhow::bail!("chromedriver not found and KEHU_REQUIRE_BROWSER=1");
        }
        eprintln!("browser test skipped: chromedriver is not installed");
        return Ok(None);
    };
    let port = free_port()?;
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let driver = Driver(child);
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(
        &std::env::var("KEHU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    )?;
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=zh-CN",
    ] {
        caps.add_arg(arg)?;
    }
    // chromedriver needs a moment to listen.
    let mut last_err = None;
    for _ in 0..50 {
        match WebDriver::new(format!("http://127.0.0.1:{port}"), caps.clone()).await {
            Ok(wd) => return Ok(Some((driver, wd))),
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(anyhow::anyhow!("chromedriver did not start: {last_err:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_logs_in_through_the_page_and_sees_home() -> anyhow::Result<()> {
    let Some((_driver, wd)) = start_driver().await? else {
        return Ok(());
    };
    let s = TestServer::start().await?;
    let result = async {
        wd.goto(s.url("/")).await?;
        // Signed out, the browser lands on the Chinese login page.
        let heading = wd.find(By::Css("h1")).await?.text().await?;
        assert_eq!(heading, "登录客户管理系统");
        shot(&wd, "login").await;
        wd.find(By::Id("username"))
            .await?
            .send_keys("admin")
            .await?;
        wd.find(By::Id("password"))
            .await?
            .send_keys("wrong password")
            .await?;
        wd.find(By::Css("form[action='/login'] button[type=submit]"))
            .await?
            .click()
            .await?;
        let alert = wd
            .query(By::Css(".alert.error"))
            .first()
            .await?
            .text()
            .await?;
        assert!(alert.contains("用户名或密码错误"), "{alert}");
        wd.find(By::Id("password"))
            .await?
            .send_keys(ADMIN_PASSWORD)
            .await?;
        wd.find(By::Css("form[action='/login'] button[type=submit]"))
            .await?
            .click()
            .await?;
        // Wait for the navigation to the home page.
        let tasks = wd.query(By::Id("tasks")).first().await?;
        assert!(tasks.text().await?.contains("我的待办"));
        let h1 = wd.find(By::Css("h1")).await?.text().await?;
        assert!(h1.contains("管理员"), "{h1}");
        shot(&wd, "home").await;
        // The navigation leads to the user administration.
        wd.find(By::LinkText("用户")).await?.click().await?;
        wd.query(By::LinkText("新增用户")).first().await?;
        assert!(wd.current_url().await?.path().ends_with("/admin/users"));
        shot(&wd, "users").await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    wd.quit().await?;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_creates_a_customer_in_the_browser_and_finds_it_by_pinyin() -> anyhow::Result<()> {
    let Some((_driver, wd)) = start_driver().await? else {
        return Ok(());
    };
    let s = TestServer::start().await?;
    s.add_user("liming", &["sales_rep"], None).await?;
    let result = async {
        wd.goto(s.url("/login")).await?;
        wd.find(By::Id("username"))
            .await?
            .send_keys("liming")
            .await?;
        wd.find(By::Id("password"))
            .await?
            .send_keys(password_of("liming"))
            .await?;
        wd.find(By::Css("form[action='/login'] button[type=submit]"))
            .await?
            .click()
            .await?;
        wd.query(By::Id("tasks")).first().await?;
        wd.goto(s.url("/customers/new")).await?;
        wd.query(By::Id("full_name"))
            .first()
            .await?
            .send_keys("北京石油化工有限公司")
            .await?;
        wd.find(By::Id("credit_code"))
            .await?
            .send_keys("91350100M000100Y44")
            .await?;
        wd.find(By::Css("#customer_type option[value=dealer]"))
            .await?
            .click()
            .await?;
        wd.find(By::Id("address"))
            .await?
            .send_keys("北京市朝阳区")
            .await?;
        wd.find(By::Id("contact_name"))
            .await?
            .send_keys("张三")
            .await?;
        wd.find(By::Id("contact_phone"))
            .await?
            .send_keys("13812345678")
            .await?;
        wd.find(By::Css("form.grid-form button[type=submit]"))
            .await?
            .click()
            .await?;
        // The error stands beside the field, the form keeps what was typed.
        let err = wd
            .query(By::Id("credit_code-error"))
            .first()
            .await?
            .text()
            .await?;
        assert!(err.contains("校验码"), "{err}");
        assert_eq!(
            wd.find(By::Id("full_name"))
                .await?
                .value()
                .await?
                .as_deref(),
            Some("北京石油化工有限公司")
        );
        shot(&wd, "customer-error").await;
        let total = kehu::customers::search(&s.state, &rep_actor(&s).await?, &Default::default())
            .await?
            .1;
        assert_eq!(total.count, 0, "nothing was saved");
        let field = wd.find(By::Id("credit_code")).await?;
        field.clear().await?;
        field.send_keys("91350100M000100Y43").await?;
        wd.find(By::Css("form.grid-form button[type=submit]"))
            .await?
            .click()
            .await?;
        wd.query(By::Id("profile")).first().await?;
        shot(&wd, "customer-detail").await;
        // Search by pinyin initials from the list page.
        wd.goto(s.url("/customers")).await?;
        let q = wd.query(By::Css("input[name=q]")).first().await?;
        q.send_keys("bjsy").await?;
        wd.find(By::Css("form.filters button[type=submit]"))
            .await?
            .click()
            .await?;
        // Wait for the search results page (the list before it has the row too).
        for _ in 0..50 {
            if wd
                .current_url()
                .await?
                .query()
                .is_some_and(|q| q.contains("q=bjsy"))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            wd.current_url()
                .await?
                .query()
                .is_some_and(|q| q.contains("q=bjsy"))
        );
        let row = wd
            .query(By::Css("#customers tbody tr"))
            .first()
            .await?
            .text()
            .await?;
        assert!(row.contains("北京石油化工有限公司"), "{row}");
        shot(&wd, "customer-list").await;
        // The same list on a phone-sized screen.
        wd.set_window_rect(0, 0, 390, 844).await?;
        shot(&wd, "customer-list-phone").await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    wd.quit().await?;
    result
}

async fn rep_actor(s: &TestServer) -> anyhow::Result<kehu::platform::auth::Actor> {
    let u = kehu::platform::auth::get_user_by_name(&s.state, "liming").await?;
    Ok(kehu::platform::auth::Actor {
        user_id: u.id,
        username: u.username,
        display_name: u.display_name,
        roles: u.roles,
        team_id: u.team_id,
        language: u.language,
        csrf_token: None,
        session_id: None,
    })
}

/// Screenshots for people to look at (`target/screenshots/`); never asserted on.
async fn shot(wd: &WebDriver, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = wd.screenshot(&dir.join(format!("{name}.png"))).await;
    }
}

/// Signs in through the login page (after dropping any earlier session).
async fn sign_in(wd: &WebDriver, s: &TestServer, user: &str) -> anyhow::Result<()> {
    wd.delete_all_cookies().await?;
    wd.goto(s.url("/login")).await?;
    wd.query(By::Id("username"))
        .first()
        .await?
        .send_keys(user)
        .await?;
    wd.find(By::Id("password"))
        .await?
        .send_keys(password_of(user))
        .await?;
    wd.find(By::Css("form[action='/login'] button[type=submit]"))
        .await?
        .click()
        .await?;
    wd.query(By::Id("tasks")).first().await?;
    Ok(())
}

/// Submits the form `form_css` and waits until the page has changed.
async fn submit(wd: &WebDriver, form_css: &str) -> anyhow::Result<()> {
    let old = wd.find(By::Css("html")).await?;
    wd.find(By::Css(format!("{form_css} button[type=submit]")))
        .await?
        .click()
        .await?;
    for _ in 0..100 {
        if !old.is_present().await.unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{form_css}: the page did not change")
}

/// Picks an option of a select by its value.
async fn choose(wd: &WebDriver, select_css: &str, value: &str) -> anyhow::Result<()> {
    wd.find(By::Css(format!("{select_css} option[value='{value}']")))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_property_goes_from_notice_to_return_in_the_browser() -> anyhow::Result<()> {
    let Some((_driver, wd)) = start_driver().await? else {
        return Ok(());
    };
    let s = TestServer::start().await?;
    for (user, role) in [
        ("liming", "sales_rep"),
        ("keeper", "warehouse"),
        ("qe", "quality"),
    ] {
        s.add_user(user, &[role], None).await?;
    }
    let customer = kehu::customers::create(
        &s.state,
        &rep_actor(&s).await?,
        kehu::customers::CustomerInput {
            full_name: Some("苏州恒达精密模具有限公司".into()),
            customer_type: Some("dealer".into()),
            ..Default::default()
        },
    )
    .await?;
    let pdf = tempfile::Builder::new().suffix(".pdf").tempfile()?;
    std::fs::write(pdf.path(), b"%PDF-1.4 signed")?;
    let pdf_path = pdf.path().to_string_lossy().into_owned();
    let result = async {
        // Sales: the advance notice, from the customer's page.
        sign_in(&wd, &s, "liming").await?;
        wd.goto(s.url(&format!("/customers/{}", customer.id)))
            .await?;
        wd.query(By::Css("#property a.button"))
            .first()
            .await?
            .click()
            .await?;
        wd.query(By::Id("item_name"))
            .first()
            .await?
            .send_keys("PA66 粒料")
            .await?;
        wd.execute(
            "document.getElementById('expected_on').value = '2026-12-01'",
            vec![],
        )
        .await?;
        wd.find(By::Id("quantity")).await?.send_keys("100").await?;
        wd.find(By::Id("unit")).await?.send_keys("kg").await?;
        submit(&wd, "form[action='/property/notices/new']").await?;
        let notice_url = wd.current_url().await?.to_string();
        assert!(notice_url.contains("/property/notices/"), "{notice_url}");
        // Warehouse: receipt against the notice, count and packaging checked.
        sign_in(&wd, &s, "keeper").await?;
        wd.goto(&notice_url).await?;
        wd.query(By::Css("input[name=packaging_ok]"))
            .first()
            .await?
            .click()
            .await?;
        wd.find(By::Css("input[name=lot_no]"))
            .await?
            .send_keys("L2611")
            .await?;
        submit(&wd, "form[action$='/receive']").await?;
        let item_url = wd
            .query(By::Css("main ul li a[href^='/property/items/']"))
            .first()
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        let item_url = s.url(&item_url);
        // Quality: the inspection report, then the verification.
        sign_in(&wd, &s, "qe").await?;
        wd.goto(&item_url).await?;
        wd.query(By::Css("#documents input[type=file]"))
            .first()
            .await?
            .send_keys(&pdf_path)
            .await?;
        submit(&wd, "#documents form").await?;
        let report = wd
            .query(By::Css("#report option:nth-child(2)"))
            .first()
            .await?;
        report.click().await?;
        submit(&wd, "#verify").await?;
        // Warehouse: registration, the label, an issue to the customer's work order.
        sign_in(&wd, &s, "keeper").await?;
        wd.goto(&item_url).await?;
        submit(&wd, "#register").await?;
        let number = wd
            .query(By::Css("#facts dd b"))
            .first()
            .await?
            .text()
            .await?;
        assert!(number.starts_with("GCC-"), "{number}");
        wd.find(By::LinkText("标识卡")).await?.click().await?;
        let label = wd.query(By::Css(".label")).first().await?.text().await?;
        assert!(
            label.contains("苏州恒达精密模具有限公司") && label.contains(&number),
            "{label}"
        );
        assert!(
            wd.find(By::Css(".label svg")).await.is_ok(),
            "QR code on the label"
        );
        shot(&wd, "property-label").await;
        print_pdf(&wd, "property-labels").await;
        wd.goto(&item_url).await?;
        wd.find(By::Id("is_qty")).await?.clear().await?;
        wd.find(By::Id("is_qty")).await?.send_keys("40").await?;
        wd.find(By::Id("is_order"))
            .await?
            .send_keys("WO-2611-07")
            .await?;
        submit(&wd, "#issue").await?;
        wd.goto(s.url("/property/register")).await?;
        let register = wd
            .query(By::Css(".doc-table tbody"))
            .first()
            .await?
            .text()
            .await?;
        assert!(
            register.contains(&number) && register.contains("60"),
            "{register}"
        );
        shot(&wd, "property-register").await;
        print_pdf(&wd, "property-register").await;
        // The warehouse works from a phone: the scan box and the item's forms.
        wd.set_window_rect(0, 0, 390, 844).await?;
        wd.goto(s.url("/property")).await?;
        shot(&wd, "property-scan-phone").await;
        wd.find(By::Id("scan")).await?.send_keys(&number).await?;
        submit(&wd, "form.scan").await?;
        assert!(
            wd.current_url()
                .await?
                .as_str()
                .ends_with(item_url.trim_start_matches(&s.base))
        );
        shot(&wd, "property-item-phone").await;
        wd.set_window_rect(0, 0, 1280, 900).await?;
        // Sales: the customer's written instruction to take the rest back.
        sign_in(&wd, &s, "liming").await?;
        wd.goto(&item_url).await?;
        choose(&wd, "#d_kind", "instruction").await?;
        choose(&wd, "#d_instr", "return").await?;
        wd.find(By::Css("#documents input[type=file]"))
            .await?
            .send_keys(&pdf_path)
            .await?;
        submit(&wd, "#documents form").await?;
        // Warehouse: the return to the customer, with the instruction chosen.
        sign_in(&wd, &s, "keeper").await?;
        wd.goto(&item_url).await?;
        wd.query(By::Css("#e_doc option:nth-child(2)"))
            .first()
            .await?
            .click()
            .await?;
        submit(&wd, "#end").await?;
        let state = wd
            .query(By::Css("#summary .state-line .chip"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(state, "已处置");
        let history = wd.find(By::Id("history")).await?.text().await?;
        for step in ["收货", "验证", "登记", "发料", "退回顾客"] {
            assert!(
                history.contains(step),
                "{step} missing from the history: {history}"
            );
        }
        shot(&wd, "property-item").await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    wd.quit().await?;
    result
}

/// The page as the browser prints it (A4 / label `@page` CSS), for people to look at.
async fn print_pdf(wd: &WebDriver, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    if std::fs::create_dir_all(&dir).is_ok()
        && let Ok(pdf) = wd.print_page(Default::default()).await
    {
        let _ = std::fs::write(dir.join(format!("{name}.pdf")), pdf);
    }
}

/// axe-core's script: `KEHU_AXE_JS`, else where `.ci/run` installs it (npm, under target/).
/// Missing: the test is skipped, unless `KEHU_REQUIRE_BROWSER=1`.
fn axe_script() -> anyhow::Result<Option<String>> {
    let path = std::env::var("KEHU_AXE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/axe/node_modules/axe-core/axe.min.js"
        )
        .to_owned()
    });
    match std::fs::read_to_string(&path) {
        Ok(script) => Ok(Some(script)),
        Err(e) if std::env::var("KEHU_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
            anyhow::bail!("axe-core not found at {path} ({e}) and KEHU_REQUIRE_BROWSER=1")
        }
        Err(_) => {
            eprintln!("accessibility test skipped: axe-core is not installed at {path}");
            Ok(None)
        }
    }
}

/// Records of every kind for the pages to show: a customer of `rep` with property from notice
/// to abnormality and count, a consignment and a custody agreement with goods. Returns the
/// customer's id.
async fn seed(s: &TestServer) -> anyhow::Result<i64> {
    use kehu::testing::Caller;
    use serde_json::{Value, json};
    let rep = Caller::for_user(s, s.add_user("rep", &["sales_rep"], None).await?).await?;
    let wh = Caller::for_user(s, s.add_user("keeper", &["warehouse"], None).await?).await?;
    let qa = Caller::for_user(s, s.add_user("qe", &["quality"], None).await?).await?;
    let ok = |step: &str, (st, v): (reqwest::StatusCode, Value)| {
        anyhow::ensure!(st.is_success(), "{step}: {st} {v}");
        Ok(v)
    };
    let c = ok(
        "customer",
        rep.post(
            "/api/v1/customers",
            json!({"full_name": "宁波海曙精密模具有限公司", "customer_type": "dealer",
                   "contact_name": "陈工", "contact_phone": "13900001234"}),
        )
        .await?,
    )?;
    let cid = c["id"].as_i64().unwrap_or_default();
    ok(
        "interaction",
        rep.post(
            &format!("/api/v1/customers/{cid}/interactions"),
            json!({"kind": "visit", "summary": "上门拜访"}),
        )
        .await?,
    )?;
    let n = ok(
        "notice",
        rep.post(
            "/api/v1/property/notices",
            json!({"customer_id": cid, "order_no": "SO-1", "expected_on": "2026-12-31",
                   "lines": [{"kind": "raw_material", "item_name": "PA66 粒料", "quantity": 100, "unit": "kg"}]}),
        )
        .await?,
    )?;
    let items = ok(
        "receive",
        wh.post(
            &format!("/api/v1/property/notices/{}/receive", n["id"]),
            json!({"line_id": n["lines"][0]["id"], "quantity": 100, "packaging_ok": true}),
        )
        .await?,
    )?;
    let item = &items[0];
    let path = format!("/api/v1/property/items/{}", item["id"]);
    let doc = ok(
        "report",
        qa.multipart(
            &format!("{path}/documents"),
            &[("kind", "report")],
            Some(("report.pdf", b"%PDF-1.4 report".to_vec())),
        )
        .await?,
    )?;
    let v = ok(
        "verify",
        qa.post(
            &format!("{path}/verify"),
            json!({"verdict": "accepted", "report_document_id": doc["id"], "version": item["version"]}),
        )
        .await?,
    )?;
    ok(
        "register",
        wh.post(
            &format!("{path}/register"),
            json!({"location": "KG-A01", "version": v["version"]}),
        )
        .await?,
    )?;
    ok(
        "abnormality",
        wh.post(
            &format!("{path}/abnormalities"),
            json!({"kind": "damaged", "description": "外箱压损", "quantity": 1}),
        )
        .await?,
    )?;
    ok(
        "count",
        wh.post(
            &format!("{path}/counts"),
            json!({"location": "KG-A01", "counted_qty": 98}),
        )
        .await?,
    )?;
    let a = ok(
        "consignment",
        rep.post(
            "/api/v1/property/consignment",
            json!({"customer_id": cid, "start_date": "2026-01-01", "end_date": "2026-12-31"}),
        )
        .await?,
    )?;
    ok(
        "consignment receipt",
        wh.post(
            &format!("/api/v1/property/consignment/{}/receipts", a["id"]),
            json!({"item": "保温杯", "unit": "个", "quantity": "10", "unit_price": "120.00", "received_at": "2026-01-05"}),
        )
        .await?,
    )?;
    let k = ok(
        "custody",
        rep.post(
            "/api/v1/property/custody",
            json!({"customer_id": cid, "start_date": "2026-01-15", "monthly_fee": "300.00"}),
        )
        .await?,
    )?;
    ok(
        "custody check-in",
        wh.post(
            &format!("/api/v1/property/custody/{}/check-ins", k["id"]),
            json!({"item": "红木书柜", "unit": "件", "quantity": 10, "moved_on": "2026-01-20"}),
        )
        .await?,
    )?;
    Ok(cid)
}

/// Runs axe-core (WCAG 2.0/2.1 A and AA) on the current page; returns its violations as
/// "rule: element" lines.
async fn axe_violations(wd: &WebDriver, axe: &str) -> anyhow::Result<Vec<String>> {
    wd.execute(axe, Vec::new()).await?;
    let ret = wd
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done(r.violations.flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')))))
               .catch(e => done(['axe failed: ' + e]));",
            Vec::new(),
        )
        .await?;
    Ok(ret.convert::<Vec<String>>()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_as_every_role() -> anyhow::Result<()> {
    let Some((_driver, wd)) = start_driver().await? else {
        return Ok(());
    };
    let Some(axe) = axe_script()? else {
        return Ok(());
    };
    let s = TestServer::start().await?;
    let result = async {
        let cid = seed(&s).await?;
        let pages = [
            "/".to_owned(),
            "/customers".into(),
            "/customers?overdue=true".into(),
            "/customers/new".into(),
            format!("/customers/{cid}"),
            format!("/customers/{cid}/edit"),
            "/customers/import".into(),
            "/customers/transfer".into(),
            "/property".into(),
            "/property?list=abnormalities".into(),
            "/property/notices/new".into(),
            "/property/notices/1".into(),
            "/property/notices/1/print".into(),
            "/property/items/1".into(),
            "/property/items/1/ledger".into(),
            "/property/labels?ids=1".into(),
            "/property/register".into(),
            "/property/abnormalities/1".into(),
            "/property/consignment".into(),
            "/property/consignment/1".into(),
            "/property/consignment/1/statement?month=2026-01".into(),
            "/property/custody".into(),
            "/property/custody/1".into(),
            "/me".into(),
            "/me/tokens".into(),
            "/admin/users".into(),
            "/admin/users/new".into(),
            "/admin/users/2".into(),
            "/admin/teams".into(),
            "/admin/audit".into(),
            "/admin/policy".into(),
        ];
        let mut found = Vec::new();
        // Signed out: the login page.
        wd.goto(s.url("/login")).await?;
        for v in axe_violations(&wd, &axe).await? {
            found.push(format!("(signed out) /login: {v}"));
        }
        for role in kehu::platform::auth::Role::ALL.map(|r| r.as_str()) {
            let user = format!("axe_{role}");
            s.add_user(&user, &[role], None).await?;
            sign_in(&wd, &s, &user).await?;
            for page in &pages {
                wd.goto(s.url(page)).await?;
                for v in axe_violations(&wd, &axe).await? {
                    found.push(format!("{role} {page}: {v}"));
                }
            }
        }
        assert!(
            found.is_empty(),
            "axe-core violations:\n{}",
            found.join("\n")
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    wd.quit().await?;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_fit_a_phone_as_cards() -> anyhow::Result<()> {
    let Some((_driver, wd)) = start_driver().await? else {
        return Ok(());
    };
    let s = TestServer::start().await?;
    let result = async {
        seed(&s).await?;
        sign_in(&wd, &s, "keeper").await?;
        wd.set_window_rect(0, 0, 390, 844).await?;
        for page in [
            "/customers",
            "/property",
            "/property/register",
            "/property/items/1",
            "/property/items/1/ledger",
        ] {
            wd.goto(s.url(page)).await?;
            // Nothing wider than the screen: no sideways scrolling, no cut-off columns.
            let fits = wd
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth",
                    Vec::new(),
                )
                .await?
                .convert::<bool>()?;
            assert!(fits, "{page} is wider than a phone");
            // Each row a card: cells carry their column's name, shown beside the value.
            let labelled = wd
                .execute(
                    "const cells = [...document.querySelectorAll('table.stacked tbody td')];
                     const heading = td => td.closest('table').tHead.rows[0].cells[td.cellIndex];
                     return cells.length > 0 && cells.every(td => getComputedStyle(td).display === 'block'
                       && (td.hasAttribute('data-label') || !heading(td) || heading(td).textContent.trim() === ''));",
                    Vec::new(),
                )
                .await?
                .convert::<bool>()?;
            assert!(labelled, "{page}: rows are not cards");
        }
        // A customer's name keeps to whole lines, not a character per line.
        wd.goto(s.url("/customers")).await?;
        let width = wd
            .execute(
                "return document.querySelector('#customers tbody td:nth-child(2) a').getBoundingClientRect().width",
                Vec::new(),
            )
            .await?
            .convert::<f64>()?;
        assert!(width > 150.0, "the name is squeezed to {width} px");
        Ok::<_, anyhow::Error>(())
    }
    .await;
    wd.quit().await?;
    result
}
