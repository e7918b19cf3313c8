//! The `kehu` command as an IT admin uses it, on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use std::io::Write;
use std::process::{Command, Output, Stdio};

use kehu::testing::TestDb;
use sea_orm::{ConnectionTrait, Database};

fn kehu(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.arg("--data-dir").arg(db.data_dir.path());
    if let Some(url) = &db.url {
        c.arg("--database-url").arg(url);
    }
    c.env("KEHU_LANG", "en")
        .env("KEHU_ADMIN_PASSWORD", "tangerine-ferry-58-orbit")
        .env_remove("KEHU_DATABASE_URL");
    c
}

fn run(db: &TestDb, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Output> {
    let mut child = kehu(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(mut input), Some(text)) = (child.stdin.take(), stdin) {
        input.write_all(text.as_bytes())?;
    }
    Ok(child.wait_with_output()?)
}

/// A database created as an admin would: `kehu migrate` (which also creates `admin`).
async fn initialised() -> anyhow::Result<TestDb> {
    let db = TestDb::new().await?;
    let out = run(&db, &["migrate"], None)?;
    anyhow::ensure!(out.status.success(), "{}", text(&out.stderr));
    Ok(db)
}

/// The URL a test opens a database at directly (to count rows, to tamper with it).
fn url_of(db: &TestDb) -> String {
    db.url
        .clone()
        .unwrap_or_else(|| kehu::platform::db::sqlite_url(db.data_dir.path()))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

mod support;
use support::{Served, serve_with};

/// `kehu serve --bind 127.0.0.1:0` on the test's database.
fn serve(db: &TestDb) -> anyhow::Result<Served> {
    let mut cmd = kehu(db);
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
    serve_with(cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_token_and_curl_an_admin_api() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let out = run(&db, &["migrate"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&db, &["team", "add", "华东销售部"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &db,
        &[
            "user",
            "add",
            "zhangsan",
            "--role",
            "sales_rep",
            "--team",
            "华东销售部",
        ],
        Some("copper-lantern-41-moss\n"),
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Without stdin a password is generated and printed once.
    let out = run(
        &db,
        &["user", "add", "lisi", "--role", "finance,quality"],
        None,
    )?;
    assert!(
        text(&out.stdout).contains("Password: "),
        "{}",
        text(&out.stdout)
    );
    // Bad input: clear message, non-zero exit, nothing added.
    let out = run(&db, &["user", "add", "wangwu", "--role", "boss"], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("roles: unknown role"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&db, &["user", "list"], None)?;
    let list = text(&out.stdout);
    assert!(
        list.contains("zhangsan")
            && list.contains("华东销售部")
            && list.contains("quality,finance"),
        "{list}"
    );
    assert!(!list.contains("wangwu"));

    let out = run(&db, &["token", "create", "admin", "--name", "erp"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert!(token.starts_with("kehu_"));
    let out = run(&db, &["token", "list", "admin"], None)?;
    let listed = text(&out.stdout);
    assert!(
        listed.contains("erp") && !listed.contains(&token),
        "{listed}"
    );

    let server = serve(&db)?;
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/api/v1/users", server.base))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let users: serde_json::Value = r.json().await?;
    assert_eq!(users["total"], 3);
    // The rep can log in with the piped password but may not use the admin API.
    let r = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({"username": "zhangsan", "password": "copper-lantern-41-moss"}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let out = run(
        &db,
        &["user", "disable", "zhangsan", "--reason", "员工调离"],
        None,
    )?;
    assert!(out.status.success());
    let r = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({"username": "zhangsan", "password": "copper-lantern-41-moss"}))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_check_reports_every_error_with_its_line() -> anyhow::Result<()> {
    let db = initialised().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("policy.toml");
    let text_in = kehu::policy::DEFAULT_POLICY_TOML
        .replacen("login_max_failures = 5", "login_max_failures = 5x", 1)
        .replacen("[security]", "[security]\nlogin_max_failurez = 3", 1);
    std::fs::write(&file, &text_in)?;
    let line_of = |needle: &str| {
        text_in
            .lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .unwrap_or(0)
    };
    let out = run(
        &db,
        &["policy", "check", file.to_str().unwrap_or_default()],
        None,
    )?;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            ":{}: security.login_max_failurez: unknown field",
            line_of("login_max_failurez")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            ":{}: security.login_max_failures:",
            line_of("login_max_failures = 5x")
        )),
        "{err}"
    );
    // Applying it is refused too, and the policy in force stays version 1.
    let out = run(
        &db,
        &["policy", "apply", file.to_str().unwrap_or_default()],
        None,
    )?;
    assert!(!out.status.success());
    let out = run(&db, &["policy", "show"], None)?;
    assert!(
        text(&out.stdout).starts_with("# policy version 1"),
        "{}",
        text(&out.stdout)
    );
    // A valid file becomes version 2.
    std::fs::write(
        &file,
        kehu::policy::DEFAULT_POLICY_TOML.replacen(
            "login_max_failures = 5",
            "login_max_failures = 4",
            1,
        ),
    )?;
    let out = run(
        &db,
        &["policy", "check", file.to_str().unwrap_or_default()],
        None,
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &db,
        &[
            "policy",
            "apply",
            file.to_str().unwrap_or_default(),
            "--comment",
            "tighter",
        ],
        None,
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&db, &["policy", "show"], None)?;
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("# policy version 2") && shown.contains("login_max_failures = 4"),
        "{shown}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_an_edited_entry() -> anyhow::Result<()> {
    let db = initialised().await?;
    for name in ["a1", "a2", "a3"] {
        let out = run(
            &db,
            &["user", "add", name, "--role", "sales_rep"],
            Some("meadow-circuit-92-plume\n"),
        )?;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = run(&db, &["audit", "verify"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("intact"));
    let url = db
        .url
        .clone()
        .unwrap_or_else(|| kehu::platform::db::sqlite_url(db.data_dir.path()));
    let conn = Database::connect(&url).await?;
    conn.execute_unprepared(
        "UPDATE audit_log SET changes = '{\"roles\":[null,\"admin\"]}' WHERE seq = 2",
    )
    .await?;
    conn.close().await?;
    let out = run(&db, &["audit", "verify"], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("broken at entry 2"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_configures_cookies_and_tokens_can_be_revoked() -> anyhow::Result<()> {
    let db = initialised().await?;
    let out = run(&db, &["token", "create", "admin"], None)?;
    let token = text(&out.stdout).trim().to_owned();
    let mut cmd = kehu(&db);
    cmd.env("KEHU_SECURE_COOKIES", "true")
        .args(["serve", "--bind", "127.0.0.1:0"]);
    let server = serve_with(cmd)?;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({"username": "admin", "password": "tangerine-ferry-58-orbit"}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert_eq!(
        client
            .get(format!("{}/api/v1/me", server.base))
            .bearer_auth(&token)
            .send()
            .await?
            .status(),
        200
    );
    let out = run(&db, &["token", "list", "admin"], None)?;
    let id = text(&out.stdout)
        .split('\t')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let out = run(&db, &["token", "revoke", "admin", &id], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        client
            .get(format!("{}/api/v1/me", server.base))
            .bearer_auth(&token)
            .send()
            .await?
            .status(),
        401
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_export_customers() -> anyhow::Result<()> {
    use kehu::customers::io::{COLUMNS, export_columns};
    use kehu::platform::sheet::{self, Format};
    let db = TestDb::new().await?;
    let out = run(&db, &["migrate"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir()?;
    let columns: Vec<_> = [
        "full_name",
        "customer_type",
        "contact_name",
        "contact_phone",
    ]
    .iter()
    .filter_map(|k| COLUMNS.iter().find(|c| c.key == *k).copied())
    .collect();
    let rows: Vec<Vec<String>> = [
        ["宁波东方电缆有限公司", "经销商", "陈七", "13800000001"],
        ["坏行贸易有限公司", "批发商", "", ""],
        ["温州华联五金有限公司", "dealer", "", ""],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    let file = dir.path().join("客户.xlsx");
    std::fs::write(
        &file,
        sheet::write(Format::Xlsx, &columns, &rows, "zh-CN", "客户")?,
    )?;
    let file = file.to_string_lossy().into_owned();

    // All or nothing: the bad row is listed, nothing imported, non-zero exit.
    let out = run(&db, &["import", "customers", &file], None)?;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("Row 3, Customer type: "), "{err}");
    assert!(err.contains("批发商"), "{err}");
    assert!(err.contains("Nothing was imported: 1 rows"), "{err}");

    // Skipping bad rows imports the others.
    let out = run(&db, &["import", "customers", &file, "--skip-invalid"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("Imported 2 of 3 rows."), "{said}");
    assert!(said.contains("Skipped 1 bad rows."), "{said}");
    assert!(text(&out.stderr).contains("Row 3, Customer type: "));

    // Export, format from the extension.
    let csv = dir.path().join("out.csv").to_string_lossy().into_owned();
    let out = run(&db, &["export", "customers", &csv], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Exported 2 customers to"),
        "{}",
        text(&out.stdout)
    );
    let exported = sheet::read(&std::fs::read(&csv)?, Format::Csv, &export_columns())?;
    assert_eq!(exported.len(), 2);
    assert!(
        exported
            .iter()
            .any(|r| r.get("contact_phone") == Some("13800000001"))
    );
    assert!(exported.iter().all(|r| r.get("owner") == Some("admin")));

    // Bad input: clear messages, non-zero exits.
    let out = run(&db, &["export", "customers", &format!("{csv}.pdf")], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(".xlsx or .csv"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&db, &["import", "customers", &file, "--as", "nobody"], None)?;
    assert!(!out.status.success());
    let out = run(&db, &["user", "add", "rep", "--role", "sales_rep"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&db, &["export", "customers", &csv, "--as", "rep"], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("kehu: "),
        "{}",
        text(&out.stderr)
    );
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "客户全称,客户类型\n")?;
    let out = run(
        &db,
        &[
            "import",
            "customers",
            &empty.to_string_lossy(),
            "--as",
            "rep",
        ],
        None,
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no data rows"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn property_refusals_reach_the_command_line() -> anyhow::Result<()> {
    use kehu::property as p;
    let db = TestDb::new().await?;
    let app = kehu::app::prepare(
        db.config(),
        kehu::platform::clock::Clock::system(),
        Some("tangerine-ferry-58-orbit".into()),
    )
    .await?;
    let state = &app.state;
    let system = kehu::platform::audit::AuditActor::system();
    let (u, _) = kehu::platform::auth::create_user(
        state,
        &system,
        kehu::platform::auth::NewUser {
            username: "keeper".into(),
            display_name: "keeper".into(),
            password: Some("granite-willow-36-fable".into()),
            roles: vec!["warehouse".into()],
            team_id: None,
            language: None,
        },
    )
    .await?;
    let admin_user = kehu::platform::auth::get_user_by_name(state, "admin").await?;
    let admin = kehu::platform::auth::Actor {
        user_id: admin_user.id,
        username: admin_user.username,
        display_name: admin_user.display_name,
        roles: admin_user.roles,
        team_id: None,
        language: "en".into(),
        csrf_token: None,
        session_id: None,
    };
    let c = kehu::customers::create(
        state,
        &admin,
        kehu::customers::CustomerInput {
            full_name: Some("宁波海天塑机有限公司".into()),
            customer_type: Some("dealer".into()),
            ..Default::default()
        },
    )
    .await?;
    let n = p::create_notice(
        state,
        &admin,
        p::NoticeInput {
            customer_id: Some(c.id),
            expected_on: Some("2026-12-01".into()),
            lines: vec![p::NoticeLineInput {
                kind: Some("component".into()),
                item_name: Some("螺杆".into()),
                quantity: Some(10),
                unit: Some("件".into()),
                spec: None,
            }],
            ..Default::default()
        },
    )
    .await?;
    let item = p::receive(
        state,
        &admin,
        n.id,
        p::ReceiveInput {
            line_id: Some(n.lines[0].id),
            quantity: Some(10),
            packaging_ok: true,
            ..Default::default()
        },
    )
    .await?[0]
        .id;
    let report = p::add_document(
        state,
        &admin,
        item,
        p::DocumentUpload {
            kind: "report".into(),
            instruction: None,
            order_no: None,
            note: None,
            filename: "iqc.pdf".into(),
            data: b"%PDF-1.4 iqc".to_vec(),
        },
    )
    .await?;
    p::verify(
        state,
        &admin,
        item,
        p::VerifyInput {
            verdict: Some("accepted".into()),
            report_document_id: Some(report.id),
            ..Default::default()
        },
    )
    .await?;
    let reg = p::register(
        state,
        &admin,
        item,
        p::RegisterInput {
            location: Some("KG-A01".into()),
            ..Default::default()
        },
    )
    .await?;
    let number = reg.register_no.unwrap_or_default();
    drop(app);
    let _ = u;

    // More than the balance: refused with the reason, nothing changes.
    let out = run(
        &db,
        &[
            "property",
            "issue",
            &number,
            "--quantity",
            "11",
            "--from",
            "KG-A01",
            "--order",
            "WO-1",
            "--as",
            "keeper",
        ],
        None,
    )?;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("would make the balance negative"), "{err}");
    // An end step without the customer's instruction.
    let out = run(
        &db,
        &[
            "property",
            "end",
            &number,
            "--kind",
            "scrap",
            "--quantity",
            "1",
            "--from",
            "KG-A01",
            "--as",
            "keeper",
        ],
        None,
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("written instruction"),
        "{}",
        text(&out.stderr)
    );
    // Quality may not issue.
    let out = run(
        &db,
        &[
            "property",
            "issue",
            &number,
            "--quantity",
            "1",
            "--from",
            "KG-A01",
            "--order",
            "WO-1",
            "--as",
            "keeper2",
        ],
        None,
    )?;
    assert!(!out.status.success());
    // A good issue prints the item with its new balance.
    let out = run(
        &db,
        &[
            "property",
            "issue",
            &number,
            "--quantity",
            "4",
            "--from",
            "KG-A01",
            "--order",
            "WO-1",
            "--as",
            "keeper",
        ],
        None,
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(&number) && said.contains("6 件"), "{said}");
    let out = run(&db, &["property", "find", &number, "--as", "keeper"], None)?;
    assert!(
        text(&out.stdout).contains("KG-A01 6"),
        "{}",
        text(&out.stdout)
    );
    // A number nothing has is a failure with a message, as every other.
    let out = run(
        &db,
        &["property", "find", "GCC-1999-99999", "--as", "keeper"],
        None,
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("GCC-1999-99999"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sales_manager_added_to_a_team_without_one_leads_it() -> anyhow::Result<()> {
    let db = initialised().await?;
    let ok = |out: &Output| {
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&run(&db, &["team", "add", "华东销售部"], None)?);
    let said = ok(&run(
        &db,
        &[
            "user",
            "add",
            "mgr",
            "--role",
            "sales_manager",
            "--team",
            "华东销售部",
        ],
        Some("copper-lantern-41-moss\n"),
    )?);
    assert!(said.contains("now leads"), "{said}");
    ok(&run(
        &db,
        &[
            "user",
            "add",
            "rep",
            "--role",
            "sales_rep",
            "--team",
            "华东销售部",
        ],
        Some("meadow-circuit-92-plume\n"),
    )?);
    // A second manager joins as a member; the first still leads.
    let said = ok(&run(
        &db,
        &[
            "user",
            "add",
            "mgr2",
            "--role",
            "sales_manager",
            "--team",
            "华东销售部",
        ],
        Some("granite-willow-36-fable\n"),
    )?);
    assert!(!said.contains("now leads"), "{said}");
    let list = ok(&run(&db, &["team", "list"], None)?);
    assert!(list.contains("华东销售部\tmgr\n"), "{list}");
    // The manager sees the team's customers.
    let app = kehu::app::prepare(
        {
            let mut c = kehu::platform::config::Config::for_data_dir(db.data_dir.path());
            c.database_url = db.url.clone();
            c
        },
        kehu::platform::clock::Clock::system(),
        None,
    )
    .await?;
    let actor = |name: &str| {
        let state = app.state.clone();
        let name = name.to_owned();
        async move {
            let u = kehu::platform::auth::get_user_by_name(&state, &name).await?;
            anyhow::Ok(kehu::platform::auth::Actor {
                user_id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                roles: u.roles.clone(),
                team_id: u.team_id,
                language: "zh-CN".into(),
                csrf_token: None,
                session_id: None,
            })
        }
    };
    let rep = actor("rep").await?;
    let c = kehu::customers::create(
        &app.state,
        &rep,
        kehu::customers::CustomerInput {
            full_name: Some("杭州精工机械有限公司".into()),
            customer_type: Some("dealer".into()),
            ..Default::default()
        },
    )
    .await?;
    kehu::customers::visible(&app.state, &actor("mgr").await?, c.id).await?;
    assert!(
        kehu::customers::visible(&app.state, &actor("mgr2").await?, c.id)
            .await
            .is_err()
    );
    // The lead changes hands by command.
    let said = ok(&run(
        &db,
        &["team", "set-manager", "华东销售部", "mgr2"],
        None,
    )?);
    assert!(said.contains("mgr2"), "{said}");
    kehu::customers::visible(&app.state, &actor("mgr2").await?, c.id).await?;
    let out = run(&db, &["team", "set-manager", "华东销售部", "rep"], None)?;
    assert!(!out.status.success(), "a sales rep cannot lead");
    Ok(())
}

/// Customers in a database, read directly.
async fn customers_in(url: &str) -> anyhow::Result<i64> {
    let conn = Database::connect(url).await?;
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customers",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
    let n: i64 = row.try_get("", "n")?;
    conn.close().await?;
    Ok(n)
}

/// Whether a restore target is still as empty as it was: no database file in the data
/// directory, or no tables in the PostgreSQL database.
async fn is_empty(db: &TestDb) -> anyhow::Result<bool> {
    match &db.url {
        None => Ok(!db.data_dir.path().join("kehu.db").exists()),
        Some(url) => {
            let conn = Database::connect(url).await?;
            let n = conn
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
                ))
                .await?
                .len();
            conn.close().await?;
            Ok(n == 0)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_with_an_intact_audit_chain() -> anyhow::Result<()>
{
    let db = initialised().await?;
    let server = serve(&db)?;
    let token = text(&run(&db, &["token", "create", "admin"], None)?.stdout)
        .trim()
        .to_owned();
    // Writers keep creating customers (each with its audit entry) while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (base, token, stop) = (server.base.clone(), token.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut made = 0_u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .post(format!("{base}/api/v1/customers"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({
                        "full_name": format!("负载测试{w}号客户{made}有限公司"),
                        "customer_type": "dealer",
                        "contact_name": "张三",
                        "contact_phone": format!("139{w}{made:07}"),
                        "confirm_duplicates": true,
                    }))
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 201, "{}", r.text().await?);
                made += 1;
            }
            anyhow::Ok(made)
        }));
    }
    let url = url_of(&db);
    while customers_in(&url).await? < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = customers_in(&url).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("kehu-backup");
    let out = tokio::task::spawn_blocking({
        let (db_args, file) = (kehu(&db), file.clone());
        move || -> anyhow::Result<Output> {
            let mut c = db_args;
            Ok(c.arg("backup").arg(&file).output()?)
        }
    })
    .await??;
    let after_backup = customers_in(&url).await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut made = 0;
    for w in writers {
        made += w.await??;
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Backup written"),
        "{}",
        text(&out.stdout)
    );
    assert!(after_backup > before, "writes went on during the backup");
    let file = file.display().to_string();

    // Restored into a new, empty place, the copy is whole and its chain intact.
    let target = TestDb::new().await?;
    let out = run(&target, &["restore", &file], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("audit chain intact"),
        "{}",
        text(&out.stdout)
    );
    let restored = customers_in(&url_of(&target)).await?;
    assert!(
        (before..=after_backup).contains(&restored),
        "{before} ≤ {restored} ≤ {after_backup} (made {made})"
    );
    let out = run(&target, &["audit", "verify"], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let users = text(&run(&target, &["user", "list"], None)?.stdout);
    assert!(users.starts_with("admin\t"), "{users}");

    // A restore never overwrites: the same target again is refused.
    let out = run(&target, &["restore", &file], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("restore only fills"),
        "{}",
        text(&out.stderr)
    );

    // A backup whose audit chain was edited is refused, and leaves its target empty.
    let conn = Database::connect(url_of(&target)).await?;
    conn.execute_unprepared("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2")
        .await?;
    conn.close().await?;
    let tampered = dir.path().join("tampered");
    let out = run(&target, &["backup", &tampered.display().to_string()], None)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let empty = TestDb::new().await?;
    let out = run(&empty, &["restore", &tampered.display().to_string()], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("audit chain is broken at entry 2"),
        "{}",
        text(&out.stderr)
    );
    assert!(is_empty(&empty).await?, "a refused restore leaves nothing");

    // A damaged file is refused by the integrity check.
    let bytes = std::fs::read(&file)?;
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2])?;
    let out = run(&empty, &["restore", &damaged.display().to_string()], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("damaged"),
        "{}",
        text(&out.stderr)
    );
    assert!(is_empty(&empty).await?);

    // A backup never overwrites a file either.
    let out = run(&db, &["backup", &file], None)?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );
    drop(server);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_refuse_a_place_without_a_kehu_database_and_create_nothing() -> anyhow::Result<()>
{
    let commands: [&[&str]; 5] = [
        &["audit", "verify"],
        &["user", "list"],
        &["team", "list"],
        &["policy", "show"],
        &["backup", "/tmp/never-written.db"],
    ];
    let db = TestDb::new().await?;
    if db.url.is_none() {
        let missing = db.data_dir.path().join("typo");
        for args in commands {
            let out = Command::new(env!("CARGO_BIN_EXE_kehu"))
                .arg("--data-dir")
                .arg(&missing)
                .args(args)
                .env("KEHU_LANG", "en")
                .env_remove("KEHU_DATABASE_URL")
                .output()?;
            assert!(!out.status.success(), "{args:?}");
            let err = text(&out.stderr);
            assert!(
                err.contains(&missing.display().to_string()) && err.contains("does not exist"),
                "{args:?}: {err}"
            );
            assert!(!missing.exists(), "{args:?} created the directory");
        }
    }
    // An existing directory (or PostgreSQL database) without Kehu in it.
    for args in commands {
        let out = run(&db, args, None)?;
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("holds no Kehu database"), "{args:?}: {err}");
        assert!(is_empty(&db).await?, "{args:?} created a database");
    }
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
    if db.url.is_none() {
        // One server per SQLite data directory.
        let db = initialised().await?;
        let first = serve(&db)?;
        let out = kehu(&db)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .output()?;
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("another kehu serve"),
            "{}",
            text(&out.stderr)
        );
        drop(first);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_actor_is_the_real_user_and_policy_show_applies_back_unchanged()
-> anyhow::Result<()> {
    let db = initialised().await?;
    let out = kehu(&db)
        .args(["team", "add", "华南销售部"])
        .env("USER", "somebody-else")
        .output()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let whoami = Command::new("id").arg("-un").output()?;
    let me = text(&whoami.stdout).trim().to_owned();
    let conn = Database::connect(url_of(&db)).await?;
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT actor_name FROM audit_log WHERE entity_type = 'team' ORDER BY seq DESC",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no audit entry"))?;
    let actor: String = row.try_get("", "actor_name")?;
    conn.close().await?;
    assert_eq!(actor, format!("cli:{me}"));

    // `policy show` applied again stores the same text: one header, never two.
    let dir = tempfile::tempdir()?;
    let shown = dir.path().join("policy.toml");
    let first = text(&run(&db, &["policy", "show"], None)?.stdout);
    std::fs::write(&shown, &first)?;
    let out = run(
        &db,
        &[
            "policy",
            "apply",
            &shown.display().to_string(),
            "--effective-from",
            "2099-01-01",
        ],
        None,
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &db,
        &["policy", "apply", &shown.display().to_string()],
        None,
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = text(&run(&db, &["policy", "show"], None)?.stdout);
    assert_eq!(again.matches("# policy version").count(), 1, "{again}");
    assert_eq!(
        again.split_once('\n').map(|x| x.1),
        first.split_once('\n').map(|x| x.1)
    );
    let out = run(
        &db,
        &[
            "policy",
            "apply",
            &shown.display().to_string(),
            "--effective-from",
            "soon",
        ],
        None,
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--effective-from"),
        "{}",
        text(&out.stderr)
    );

    // A bad policy given to `serve` is described in the operator's language.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        kehu::policy::DEFAULT_POLICY_TOML.replacen("session_hours = 12", "session_hours = 0", 1),
    )?;
    let out = kehu(&db)
        .args(["serve", "--bind", "127.0.0.1:0", "--policy"])
        .arg(&bad)
        .output()?;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let chinese = err.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    assert!(err.contains("session_hours") && !chinese, "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_start_with_a_json_line_and_text_logs_carry_no_colour_off_a_terminal()
-> anyhow::Result<()> {
    let db = initialised().await?;
    for format in ["json", "text"] {
        let mut cmd = kehu(&db);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("KEHU_LOG_FORMAT", format);
        let line = serve_with(cmd)?.start_line.clone();
        assert!(
            !line.contains('\u{1b}'),
            "{format}: colour codes in {line:?}"
        );
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| anyhow::anyhow!("not JSON: {line:?}: {e}"))?;
            let url = v["fields"]["url"].as_str().unwrap_or_default();
            assert!(url.starts_with("http://127.0.0.1:"), "{v}");
        }
    }
    Ok(())
}
