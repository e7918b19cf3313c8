//! Platform behaviour through the HTTP API, on SQLite or (with
//! `KEHU_TEST_DATABASE_URL`) PostgreSQL.
use kehu::platform::{audit, numbering};
use kehu::testing::{ADMIN_PASSWORD, TestServer};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn body(r: reqwest::Response) -> anyhow::Result<Value> {
    Ok(r.json::<Value>().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_me() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    let me = body(c.get(s.url("/api/v1/me")).send().await?).await?;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["roles"], json!(["admin"]));
    let r = c.delete(s.url("/api/v1/session")).send().await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.get(s.url("/api/v1/me")).send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e = body(r).await?;
    assert_eq!(e["error"]["code"], "unauthorized");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_wrong_password_is_rate_limited_in_the_callers_language() -> R {
    let s = TestServer::start().await?;
    let c = s.client();
    for i in 0..5 {
        let r = c
            .post(s.url("/api/v1/session"))
            .header("accept-language", "en")
            .json(&json!({"username": "admin", "password": format!("wrong{i}")}))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = c
        .post(s.url("/api/v1/session"))
        .header("accept-language", "en")
        .json(&json!({"username": "admin", "password": "wrong6"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let e = body(r).await?;
    assert_eq!(e["error"]["code"], "rate_limited");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Too many failed login attempts"),
        "{e}"
    );
    // Even the right password is refused while locked…
    let r = c
        .post(s.url("/api/v1/session"))
        .header("accept-language", "zh-CN")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body(r).await?["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("登录失败次数过多")
    );
    // …and accepted once the lockout of the policy has passed.
    let lockout = s.state.policy().policy.security.login_lockout_minutes;
    s.clock
        .set(s.clock.now() + chrono::Duration::minutes(i64::from(lockout) + 1));
    s.admin().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_edited_disabled_and_audited() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    // Bad input names every field and changes nothing.
    let r = c
        .post(s.url("/api/v1/users"))
        .json(&json!({"username": "张三", "roles": ["boss"], "password": "short"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = body(r).await?;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        fields.contains(&"username") && fields.contains(&"roles") && fields.contains(&"password"),
        "{e}"
    );
    let users = body(c.get(s.url("/api/v1/users")).send().await?).await?;
    assert_eq!(users["total"], 1);

    let r = c
        .post(s.url("/api/v1/users"))
        .json(&json!({"username": "zhangsan", "display_name": "张三", "roles": ["sales_rep"]}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let u = body(r).await?;
    let id = u["id"].as_i64().unwrap_or_default();
    let generated = u["password"].as_str().unwrap_or_default().to_owned();
    assert!(generated.len() >= 10);
    let rep = s.login("zhangsan", &generated).await?;
    assert_eq!(
        body(rep.get(s.url("/api/v1/me")).send().await?).await?["display_name"],
        "张三"
    );

    // Duplicate username.
    let r = c
        .post(s.url("/api/v1/users"))
        .json(&json!({"username": "zhangsan", "roles": ["sales_rep"]}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Optimistic concurrency: the second edit with the same version is refused.
    let r = c
        .patch(s.url(&format!("/api/v1/users/{id}")))
        .json(&json!({"version": 1, "roles": ["sales_rep", "quality"]}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .patch(s.url(&format!("/api/v1/users/{id}")))
        .json(&json!({"version": 1, "display_name": "李四"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await?["error"]["code"], "stale_version");
    let u = body(c.get(s.url(&format!("/api/v1/users/{id}"))).send().await?).await?;
    assert_eq!(u["display_name"], "张三");
    assert_eq!(u["roles"], json!(["sales_rep", "quality"]));

    // Disabling ends the session; re-enabling allows login again.
    let r = c
        .post(s.url(&format!("/api/v1/users/{id}/disable")))
        .json(&json!({"version": 2, "reason": "员工调离"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        rep.get(s.url("/api/v1/me")).send().await?.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(s.login("zhangsan", &generated).await.is_err());
    c.post(s.url(&format!("/api/v1/users/{id}/enable")))
        .json(&json!({"version": 3}))
        .send()
        .await?;
    s.login("zhangsan", &generated).await?;

    // Every change is in the audit log with its reason, never the password.
    let log = body(
        c.get(s.url(&format!("/api/v1/audit?entity_type=user&entity_id={id}")))
            .send()
            .await?,
    )
    .await?;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, vec!["update", "update", "update", "create"]);
    assert_eq!(log["items"][1]["reason"], "员工调离");
    assert_eq!(log["items"][1]["changes"]["active"], json!([true, false]));
    assert!(!log.to_string().contains("argon2"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_be_disabled() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    let r = c
        .post(s.url("/api/v1/users/1/disable"))
        .json(&json!({"version": 1}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        body(c.get(s.url("/api/v1/users/1")).send().await?).await?["active"],
        true
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_are_led_by_sales_managers() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    let rep = s.add_user("rep1", &["sales_rep"], None).await?;
    let mgr = s.add_user("mgr1", &["sales_manager"], None).await?;
    let r = c
        .post(s.url("/api/v1/teams"))
        .json(&json!({"name": "华东销售部", "manager_id": rep}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await?["error"]["fields"][0]["field"], "manager_id");
    let r = c
        .post(s.url("/api/v1/teams"))
        .json(&json!({"name": "华东销售部", "manager_id": mgr}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let team = body(r).await?;
    let r = c
        .patch(s.url(&format!("/api/v1/users/{rep}")))
        .json(&json!({"version": 1, "team_id": team["id"]}))
        .send()
        .await?;
    assert_eq!(body(r).await?["team_id"], team["id"]);
    let r = c
        .post(s.url("/api/v1/teams"))
        .json(&json!({"name": "华东销售部"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_work_until_revoked() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    let r = c
        .post(s.url("/api/v1/tokens"))
        .json(&json!({"name": "ERP 同步"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = body(r).await?;
    let secret = t["secret"].as_str().unwrap_or_default().to_owned();
    let anon = s.client();
    let r = anon
        .get(s.url("/api/v1/users"))
        .bearer_auth(&secret)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let list = body(c.get(s.url("/api/v1/tokens")).send().await?).await?;
    assert!(list["items"][0]["last_used_at"].is_string(), "{list}");
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    let r = c
        .delete(s.url(&format!("/api/v1/tokens/{}", t["id"])))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let r = anon
        .get(s.url("/api/v1/users"))
        .bearer_auth(&secret)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Another user's token is "not found", not "forbidden".
    let other = s.add_user("u2", &["finance"], None).await?;
    let tok = s.token(other).await?;
    let list = body(
        anon.get(s.url("/api/v1/tokens"))
            .bearer_auth(&tok)
            .send()
            .await?,
    )
    .await?;
    let their_id = list["items"][0]["id"].as_i64().unwrap_or_default();
    let r = c
        .delete(s.url(&format!("/api/v1/tokens/{their_id}")))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_writes_need_json_or_a_csrf_token() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    // A cross-site form post to the API is refused…
    let r = c
        .post(s.url("/api/v1/tokens"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await?["error"]["code"], "csrf");
    // …and so is a page form without the token.
    let r = c
        .post(s.url("/me/tokens"))
        .form(&[("name", "x")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(s.url("/me/tokens"))
        .form(&[("name", "x"), ("csrf", "forged")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // With the session's token the form works.
    let me = c
        .post(s.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?;
    let csrf = body(me).await?["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = c
        .post(s.url("/me/tokens"))
        .form(&[("name", "x"), ("csrf", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await?.contains("kehu_"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_validated_versioned_and_reloaded() -> R {
    let s = TestServer::start().await?;
    let c = s.admin().await?;
    let current = body(c.get(s.url("/api/v1/policy")).send().await?).await?;
    assert_eq!(current["version"], 1);
    let text = current["body"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("login_max_failures"));

    // An unknown field and a malformed number: both reported with lines, nothing stored.
    let bad = text
        .replacen("login_max_failures = 5", "login_max_failures = 5x", 1)
        .replacen("[security]", "[security]\nlogin_max_failurez = 3", 1);
    let r = c
        .put(s.url("/api/v1/policy"))
        .header("accept-language", "en")
        .json(&json!({"body": bad, "comment": "bad"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = body(r).await?;
    let msgs: Vec<String> = e["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["message"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(msgs.len() >= 2, "{e}");
    assert!(msgs.iter().all(|m| m.starts_with("line ")), "{e}");
    assert_eq!(
        body(c.get(s.url("/api/v1/policy")).send().await?).await?["version"],
        1
    );

    // A valid change becomes version 2 and is in force at once.
    let good = text.replacen("login_max_failures = 5", "login_max_failures = 3", 1);
    let r = c
        .put(s.url("/api/v1/policy"))
        .json(&json!({"body": good, "comment": "stricter login"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    assert_eq!(s.state.policy().policy.security.login_max_failures, 3);
    assert_eq!(s.state.policy().version, 2);

    // A future version waits for its date.
    let later = s.clock.now() + chrono::Duration::days(10);
    let future = good.replacen("login_max_failures = 3", "login_max_failures = 7", 1);
    let r = c
        .put(s.url("/api/v1/policy"))
        .json(&json!({"body": future, "comment": "next month", "effective_from": later}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        body(c.get(s.url("/api/v1/policy")).send().await?).await?["version"],
        2
    );
    s.clock.set(later + chrono::Duration::minutes(1));
    // Ten days later the old session has expired: log in again.
    let c = s.admin().await?;
    assert_eq!(
        body(c.get(s.url("/api/v1/policy")).send().await?).await?["version"],
        3
    );
    let versions = body(c.get(s.url("/api/v1/policy/versions")).send().await?).await?;
    assert_eq!(versions["total"], 3);

    // The check endpoint reports without storing; only admins may replace.
    let check = body(
        c.post(s.url("/api/v1/policy/check"))
            .json(&json!({"body": "[nonsense]\n"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(check["valid"], false);
    let rep = s.add_user("rep", &["sales_rep"], None).await?;
    let tok = s.token(rep).await?;
    let r = s
        .client()
        .put(s.url("/api/v1/policy"))
        .bearer_auth(tok)
        .json(&json!({"body": text, "comment": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_verifies_and_detects_tampering() -> R {
    let s = TestServer::start().await?;
    for i in 0..5 {
        s.add_user(&format!("user{i}"), &["sales_rep"], None)
            .await?;
    }
    let report = audit::verify(&s.state.db).await?;
    assert!(report.broken.is_none(), "{report:?}");
    assert!(report.entries >= 6);
    // Edit a stored entry behind the program's back.
    s.state
        .db
        .execute_unprepared("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 3")
        .await?;
    let report = audit::verify(&s.state.db).await?;
    let broken = report.broken.expect("tampering is detected");
    assert_eq!(broken.seq, 3);
    // Deleting the newest entry is detected through the chain head.
    s.state
        .db
        .execute_unprepared("UPDATE audit_log SET actor_name = 'system' WHERE seq = 3")
        .await?;
    assert!(audit::verify(&s.state.db).await?.broken.is_none());
    s.state
        .db
        .execute_unprepared("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        .await?;
    assert!(audit::verify(&s.state.db).await?.broken.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_numbers_are_distinct_and_consecutive() -> R {
    let s = TestServer::start().await?;
    let policy = s.state.policy().policy.clone();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 15).expect("date");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = s.state.db.clone();
        let policy = policy.clone();
        tasks.push(tokio::spawn(async move {
            let txn = kehu::platform::db::begin_write(&db).await?;
            let n = numbering::next_number(&txn, &policy, "complaint", date).await?;
            txn.commit().await?;
            Ok::<_, kehu::platform::error::Error>(n)
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await??);
    }
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|i| format!("KS-202603-{i:04}")).collect();
    assert_eq!(numbers, expected);
    // A rolled-back document gives its number back: no gap.
    let txn = kehu::platform::db::begin_write(&s.state.db).await?;
    numbering::next_number(&txn, &policy, "complaint", date).await?;
    txn.rollback().await?;
    let txn = kehu::platform::db::begin_write(&s.state.db).await?;
    assert_eq!(
        numbering::next_number(&txn, &policy, "complaint", date).await?,
        "KS-202603-0051"
    );
    // The serial restarts with the month.
    let april = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
    assert_eq!(
        numbering::next_number(&txn, &policy, "complaint", april).await?,
        "KS-202604-0001"
    );
    txn.commit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_metrics_and_errors() -> R {
    let s = TestServer::start().await?;
    let c = s.client();
    let doc = body(c.get(s.url("/api/v1/openapi.json")).send().await?).await?;
    let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    assert!(paths >= 15, "{paths} paths");
    assert!(doc["paths"]["/api/v1/session"]["post"].is_object());
    let r = c.get(s.url("/api/docs/")).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let health = body(c.get(s.url("/healthz")).send().await?).await?;
    assert_eq!(health["status"], "ok");
    let r = c.get(s.url("/metrics")).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await?.contains("kehu_http_requests_total"));
    // Unknown API paths answer JSON 404 in the caller's language.
    let r = c
        .get(s.url("/api/v1/nothing-here"))
        .header("accept-language", "en")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(r).await?["error"]["message"], "Not found.");
    // A malformed JSON body names the field.
    let admin = s.admin().await?;
    let r = admin
        .post(s.url("/api/v1/teams"))
        .json(&json!({"name": 5}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await?["error"]["fields"][0]["field"], "name");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_log_in_show_home_and_switch_language() -> R {
    let s = TestServer::start().await?;
    let c = s.client();
    let r = c.get(s.url("/")).send().await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = c.get(s.url("/login")).send().await?.text().await?;
    assert!(login.contains("登录客户管理系统"));
    let csrf = login
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let r = c
        .post(s.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", "wrong"),
            ("csrf", csrf.as_str()),
            ("next", "/"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await?.contains("用户名或密码错误"));
    let r = c
        .post(s.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", "/admin/users"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/admin/users")
    );
    let home = c.get(s.url("/")).send().await?.text().await?;
    assert!(home.contains("我的待办"), "home shows the tasks area");
    assert!(
        home.contains("/admin/users"),
        "admin sees user administration"
    );
    assert!(
        home.contains("href=\"/customers\""),
        "built capabilities are linked"
    );
    assert!(
        !home.contains("/complaints"),
        "capabilities not built yet are hidden"
    );
    let page_csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let r = c
        .post(s.url("/lang"))
        .form(&[("lang", "en"), ("csrf", page_csrf.as_str()), ("next", "/")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = c.get(s.url("/")).send().await?.text().await?;
    assert!(home.contains("My tasks"));
    // A filter form submitted with blank fields works.
    let r = c
        .get(s.url("/admin/audit?entity_type=&entity_id=&actor=&action=&from=&to="))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(s.url("/admin/audit?from=2026-01-01&to=2030-12-31&entity_type=user"))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    for page in [
        "/admin/users",
        "/admin/users/new",
        "/admin/teams",
        "/admin/audit",
        "/admin/policy",
        "/me",
        "/me/tokens",
        "/admin/users/1",
        "/admin/policy/versions/1",
    ] {
        let r = c.get(s.url(page)).send().await?;
        assert_eq!(r.status(), StatusCode::OK, "{page}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_instance_holds_the_poller_lease() -> R {
    use kehu::platform::jobs::acquire_lease;
    let s = TestServer::start().await?;
    let ttl = chrono::Duration::seconds(90);
    assert!(acquire_lease(&s.state, "instance-a", ttl).await?);
    assert!(!acquire_lease(&s.state, "instance-b", ttl).await?);
    assert!(
        acquire_lease(&s.state, "instance-a", ttl).await?,
        "the holder renews"
    );
    s.clock.advance(chrono::Duration::seconds(91));
    assert!(
        acquire_lease(&s.state, "instance-b", ttl).await?,
        "an expired lease is taken over"
    );
    assert!(!acquire_lease(&s.state, "instance-a", ttl).await?);
    kehu::platform::jobs::run_once(&s.state).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_policy_still_comes_into_force_after_an_urgent_fix() -> R {
    use kehu::platform::audit::AuditActor;
    use kehu::policy::store::{apply, load_in_force};
    let s = TestServer::start().await?;
    let base = kehu::policy::DEFAULT_POLICY_TOML;
    let now = s.clock.now();
    let later = now + chrono::Duration::days(30);
    let sys = AuditActor::system();
    apply(
        &s.state.db,
        &sys,
        &base.replacen("password_min_length = 10", "password_min_length = 12", 1),
        Some(later),
        "from next month",
        now,
    )
    .await?;
    apply(
        &s.state.db,
        &sys,
        &base.replacen("password_min_length = 10", "password_min_length = 11", 1),
        None,
        "urgent",
        now,
    )
    .await?;
    let p = load_in_force(&s.state.db, now).await?;
    assert_eq!((p.version, p.policy.security.password_min_length), (3, 11));
    let p = load_in_force(&s.state.db, later).await?;
    assert_eq!((p.version, p.policy.security.password_min_length), (2, 12));
    // Every version is in the audit log.
    let (entries, _) = kehu::platform::audit::list(
        &s.state.db,
        &kehu::platform::audit::AuditFilter {
            entity_type: Some("policy".into()),
            ..Default::default()
        },
        kehu::platform::list::Paging::new(Some(1u64), Some(10u64)),
    )
    .await?;
    assert_eq!(entries.len(), 3);
    Ok(())
}

/// Group commit: every caller gets its own answer after the commit; a write
/// that fails is rolled back alone and the rest of its batch still commits.
/// Items add `item` to a counter row (in thousands); negative items write
/// and then fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_answers_each_writer_and_rolls_back_only_the_failed_one() -> R {
    use kehu::platform::error::{Error, FieldError};
    use kehu::platform::group_commit::GroupCommit;
    use std::sync::Arc;
    let s = TestServer::start().await?;
    let db = s.state.db.clone();
    db.execute_unprepared("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
        .await?;
    db.execute_unprepared("INSERT INTO counter (id, n) VALUES (1, 0)")
        .await?;
    let n = |db: sea_orm::DatabaseConnection| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT n FROM counter WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no counter row"))?;
        anyhow::Ok(row.try_get::<i64>("", "n")?)
    };
    let before = n(db.clone()).await?;
    let queue: Arc<GroupCommit<i64, i64>> = Arc::new(GroupCommit::start(
        db.clone(),
        &s.state.config.database_url(),
        16,
        Arc::new(|txn, items: Vec<i64>| {
            Box::pin(async move {
                let mut out = Vec::new();
                for item in items {
                    txn.execute_unprepared(&format!(
                        "UPDATE counter SET n = n + {item} WHERE id = 1"
                    ))
                    .await?;
                    if item < 0 {
                        return Err(Error::Invalid(vec![FieldError::new(
                            "item",
                            "error.invalid",
                        )]));
                    }
                    out.push(item * 2);
                }
                Ok(out)
            })
        }),
    )?);
    let mut tasks = Vec::new();
    for i in 1..=40_i64 {
        let item = if i % 10 == 3 { -1000 * i } else { 1000 * i };
        let q = queue.clone();
        tasks.push(tokio::spawn(async move { (item, q.submit(item).await) }));
    }
    let mut sum = 0;
    for t in tasks {
        match t.await? {
            (item, Ok(out)) if item > 0 => {
                assert_eq!(out, item * 2);
                sum += item;
            }
            (item, Err(Error::Invalid(_))) if item < 0 => {}
            (item, other) => anyhow::bail!("item {item}: {other:?}"),
        }
    }
    let added = n(db.clone()).await? - before;
    assert_eq!(added, sum, "only the successful items were kept");
    Ok(())
}

/// Only pages hand out the anonymous CSRF cookie (the login form needs it);
/// API calls with a token get no cookie at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_get_no_cookie_and_the_login_page_gets_its_csrf_cookie() -> R {
    let s = TestServer::start().await?;
    let token = s.token(1).await?;
    let r = s
        .client()
        .get(s.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none(), "{:?}", r.headers());
    let r = s.client().get(s.url("/login")).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(cookies.iter().any(|c| c.contains("csrf")), "{cookies:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_revokes_its_tokens_for_good() -> R {
    let s = TestServer::start().await?;
    let admin = s.admin().await?;
    let id = s.add_user("leaver", &["sales_rep"], None).await?;
    let token = s.token(id).await?;
    let me = |t: String| {
        let c = s.client();
        let url = s.url("/api/v1/me");
        async move { anyhow::Ok(c.get(url).bearer_auth(t).send().await?.status()) }
    };
    assert_eq!(me(token.clone()).await?, StatusCode::OK);
    let user = body(
        admin
            .get(s.url(&format!("/api/v1/users/{id}")))
            .send()
            .await?,
    )
    .await?;
    let r = admin
        .post(s.url(&format!("/api/v1/users/{id}/disable")))
        .json(&json!({"version": user["version"], "reason": "离职"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let user = body(r).await?;
    assert_eq!(me(token.clone()).await?, StatusCode::UNAUTHORIZED);
    let r = admin
        .post(s.url(&format!("/api/v1/users/{id}/enable")))
        .json(&json!({"version": user["version"]}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        me(token).await?,
        StatusCode::UNAUTHORIZED,
        "re-enabling brings no old token back"
    );
    let audit = body(
        admin
            .get(s.url("/api/v1/audit?entity_type=api_token&action=revoke"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["items"][0]["reason"], "离职", "{audit}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_releases_a_login_lock_out() -> R {
    let s = TestServer::start().await?;
    let id = s.add_user("clumsy", &["sales_rep"], None).await?;
    let c = s.client();
    let login = |password: String| {
        let (c, url) = (c.clone(), s.url("/api/v1/session"));
        async move {
            anyhow::Ok(
                c.post(url)
                    .json(&json!({"username": "clumsy", "password": password}))
                    .send()
                    .await?
                    .status(),
            )
        }
    };
    for i in 0..5 {
        assert_eq!(login(format!("wrong{i}")).await?, StatusCode::UNAUTHORIZED);
    }
    let right = kehu::testing::password_of("clumsy");
    assert_eq!(login(right.clone()).await?, StatusCode::TOO_MANY_REQUESTS);
    let admin = s.admin().await?;
    let (status, page) = {
        let r = admin
            .get(s.url(&format!("/admin/users/{id}")))
            .send()
            .await?;
        (r.status(), r.text().await?)
    };
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("/admin/users/{id}/unlock")),
        "the page offers the release"
    );
    let r = admin
        .post(s.url(&format!("/api/v1/users/{id}/unlock")))
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await?["cleared"], 5);
    assert_eq!(login(right).await?, StatusCode::CREATED);
    let audit = body(
        admin
            .get(s.url(&format!(
                "/api/v1/audit?entity_type=user&entity_id={id}&action=unlock"
            )))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(audit["total"], 1, "{audit}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_appear_at_their_time_and_only_the_newest_are_kept() -> R {
    use chrono::TimeZone;
    use kehu::platform::backup::run_scheduled;
    use kehu::platform::clock::Clock;
    let tz = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| anyhow::anyhow!("tz"))?;
    let at = |d: u32, h: u32, m: u32| {
        tz.with_ymd_and_hms(2026, 6, d, h, m, 0)
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| anyhow::anyhow!("time"))
    };
    let clock = Clock::fixed(at(1, 1, 0)?);
    let s = TestServer::start_with_clock(clock.clone()).await?;
    let dir = s.db.data_dir.path().join("backups");
    let files = || -> anyhow::Result<Vec<String>> {
        let mut v: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        Ok(v)
    };
    let ext = if s.db.is_postgres() { "pgdump" } else { "db" };
    // The first pass catches up with the slot it missed (yesterday's 02:00) …
    assert!(run_scheduled(&s.state).await?.is_some());
    assert_eq!(files()?, vec![format!("kehu-20260531-0200.{ext}")]);
    // … and the next backup waits for 02:00.
    clock.set(at(1, 1, 59)?);
    assert!(run_scheduled(&s.state).await?.is_none());
    clock.set(at(1, 2, 0)?);
    let taken = run_scheduled(&s.state)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no backup at 02:00"))?;
    assert!(taken.bytes > 0);
    assert_eq!(files()?.len(), 2);
    assert_eq!(files()?[1], format!("kehu-20260601-0200.{ext}"));
    clock.set(at(1, 23, 0)?);
    assert!(run_scheduled(&s.state).await?.is_none(), "once a day");
    // The default policy keeps 14: by the 16th day the three oldest are gone.
    for day in 2..=16 {
        clock.set(at(day, 2, 30)?);
        assert!(run_scheduled(&s.state).await?.is_some(), "day {day}");
    }
    let kept = files()?;
    assert_eq!(kept.len(), 14, "{kept:?}");
    assert_eq!(kept[0], format!("kehu-20260603-0200.{ext}"));
    assert_eq!(kept[13], format!("kehu-20260616-0200.{ext}"));
    // Each run is audited.
    let n = s
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            s.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'backup'",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?;
    assert_eq!(n, Some(17));
    Ok(())
}

/// Every SQLite connection, pooled and inline, reads the whole file through
/// a memory map: SQLite answers `mmap_size` with what it took, cut to its
/// compiled limit (2 GiB unless `.cargo/config.toml` raises it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_the_whole_database_through_a_memory_map() -> R {
    use kehu::platform::db::MMAP_BYTES;
    let s = TestServer::start().await?;
    if s.db.is_postgres() {
        return Ok(());
    }
    let stmt = || sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA mmap_size");
    let pooled = s
        .state
        .db
        .query_one_raw(stmt())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer"))?
        .try_get_by_index::<i64>(0)?;
    assert_eq!(pooled, MMAP_BYTES);
    assert!(s.state.reads.is_inline());
    let inline = s
        .state
        .reads
        .query_one(stmt(), &[])
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer"))?
        .get::<i64>("mmap_size")?;
    assert_eq!(inline, MMAP_BYTES);
    Ok(())
}
