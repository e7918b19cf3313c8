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
        assert_eq!(total, 0, "nothing was saved");
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
