//! Walks every API route of the OpenAPI document with every role (and with
//! no credentials) and checks who may call it. A new route without an entry
//! in `EXPECTED` fails the test, so no endpoint ships without an
//! authorisation rule.
use std::collections::BTreeMap;

use kehu::platform::auth::Role;
use kehu::testing::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Who may call each operation: `Anyone` (no login needed), `SignedIn`, or
/// only the listed roles.
enum Who {
    Anyone,
    SignedIn,
    Roles(&'static [Role]),
}

const ADMIN: &[Role] = &[Role::Admin];
const AUDITORS: &[Role] = &[Role::Admin, Role::Executive];

const EXPECTED: &[(&str, &str, Who)] = &[
    ("POST", "/api/v1/session", Who::Anyone),
    ("DELETE", "/api/v1/session", Who::SignedIn),
    ("GET", "/api/v1/me", Who::SignedIn),
    ("PATCH", "/api/v1/me", Who::SignedIn),
    ("POST", "/api/v1/me/password", Who::SignedIn),
    ("GET", "/api/v1/users", Who::Roles(ADMIN)),
    ("POST", "/api/v1/users", Who::Roles(ADMIN)),
    ("GET", "/api/v1/users/{id}", Who::Roles(ADMIN)),
    ("PATCH", "/api/v1/users/{id}", Who::Roles(ADMIN)),
    (
        "POST",
        "/api/v1/users/{id}/reset-password",
        Who::Roles(ADMIN),
    ),
    ("POST", "/api/v1/users/{id}/disable", Who::Roles(ADMIN)),
    ("POST", "/api/v1/users/{id}/enable", Who::Roles(ADMIN)),
    ("GET", "/api/v1/teams", Who::Roles(ADMIN)),
    ("POST", "/api/v1/teams", Who::Roles(ADMIN)),
    ("GET", "/api/v1/teams/{id}", Who::Roles(ADMIN)),
    ("PATCH", "/api/v1/teams/{id}", Who::Roles(ADMIN)),
    ("GET", "/api/v1/tokens", Who::SignedIn),
    ("POST", "/api/v1/tokens", Who::SignedIn),
    ("DELETE", "/api/v1/tokens/{id}", Who::SignedIn),
    ("GET", "/api/v1/audit", Who::Roles(AUDITORS)),
    ("GET", "/api/v1/audit/verify", Who::Roles(AUDITORS)),
    ("GET", "/api/v1/policy", Who::SignedIn),
    ("PUT", "/api/v1/policy", Who::Roles(ADMIN)),
    ("POST", "/api/v1/policy/check", Who::SignedIn),
    ("GET", "/api/v1/policy/versions", Who::SignedIn),
    ("GET", "/api/v1/policy/versions/{version}", Who::SignedIn),
    ("GET", "/api/v1/numbering/{kind}", Who::SignedIn),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_every_role() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let id = s
            .add_user(&format!("u_{}", role.as_str()), &[role.as_str()], None)
            .await?;
        tokens.insert(role, s.token(id).await?);
    }
    // A token of someone else: revoking it must be "not found" for everyone.
    let stranger = s.add_user("stranger", &["finance"], None).await?;
    s.token(stranger).await?;
    let stranger_token_id = kehu::platform::auth::list_tokens(&s.state, stranger).await?[0].id;
    let team = kehu::platform::auth::create_team(
        &s.state,
        &kehu::platform::audit::AuditActor::system(),
        kehu::platform::auth::TeamInput {
            name: "T".into(),
            manager_id: None,
            version: None,
        },
    )
    .await?;

    let doc: Value = s
        .client()
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(operations.len() >= EXPECTED.len());
    for (method, path) in &operations {
        let who = EXPECTED
            .iter()
            .find(|(m, p, _)| m == method && p == path)
            .map(|(_, _, w)| w)
            .unwrap_or_else(|| panic!("{method} {path} has no authorisation rule in EXPECTED"));
        let url = s.url(
            &path
                .replace("/users/{id}", &format!("/users/{stranger}"))
                .replace("/teams/{id}", &format!("/teams/{}", team.id))
                .replace("/tokens/{id}", &format!("/tokens/{stranger_token_id}"))
                .replace("{version}", "1")
                .replace("{kind}", "complaint"),
        );
        let m = Method::from_bytes(method.as_bytes())?;
        // An empty JSON object: allowed callers get past authorisation and
        // then fail validation, so nothing is changed by the walk.
        let send = |token: Option<&String>| {
            let mut req = s
                .client()
                .request(m.clone(), &url)
                .json(&serde_json::json!({}));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        let anon = send(None).await?.status();
        match who {
            Who::Anyone => assert_ne!(anon, StatusCode::UNAUTHORIZED, "{method} {path} anonymous"),
            _ => assert_eq!(anon, StatusCode::UNAUTHORIZED, "{method} {path} anonymous"),
        }
        for (role, token) in &tokens {
            let status = send(Some(token)).await?.status();
            let allowed = match who {
                Who::Anyone | Who::SignedIn => true,
                Who::Roles(roles) => roles.contains(role),
            };
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path} as {role:?}: {status}"
                );
                assert!(
                    status.as_u16() < 500,
                    "{method} {path} as {role:?}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role:?}");
            }
        }
    }
    // The walk changed nothing: the stranger's token is still live.
    assert!(
        kehu::platform::auth::list_tokens(&s.state, stranger).await?[0]
            .revoked_at
            .is_none()
    );
    Ok(())
}

/// Pages: every page route, as each role, through a signed-in browser session.
const PAGES: &[(&str, &str, Who)] = &[
    ("GET", "/", Who::SignedIn),
    ("GET", "/login", Who::Anyone),
    ("GET", "/me", Who::SignedIn),
    ("GET", "/me/tokens", Who::SignedIn),
    ("GET", "/admin/users", Who::Roles(ADMIN)),
    ("GET", "/admin/users/new", Who::Roles(ADMIN)),
    ("GET", "/admin/users/{id}", Who::Roles(ADMIN)),
    ("POST", "/admin/users/new", Who::Roles(ADMIN)),
    ("POST", "/admin/users/{id}", Who::Roles(ADMIN)),
    ("POST", "/admin/users/{id}/password", Who::Roles(ADMIN)),
    ("GET", "/admin/teams", Who::Roles(ADMIN)),
    ("POST", "/admin/teams", Who::Roles(ADMIN)),
    ("GET", "/admin/teams/{team}", Who::Roles(ADMIN)),
    ("POST", "/admin/teams/{team}", Who::Roles(ADMIN)),
    ("GET", "/admin/audit", Who::Roles(AUDITORS)),
    ("GET", "/admin/policy", Who::SignedIn),
    ("POST", "/admin/policy", Who::Roles(ADMIN)),
    ("GET", "/admin/policy/versions/1", Who::SignedIn),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_with_every_role() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let target = s.add_user("target", &["sales_rep"], None).await?;
    let team = kehu::platform::auth::create_team(
        &s.state,
        &kehu::platform::audit::AuditActor::system(),
        kehu::platform::auth::TeamInput {
            name: "T".into(),
            manager_id: None,
            version: None,
        },
    )
    .await?;
    for role in Role::ALL {
        let name = format!("p_{}", role.as_str());
        s.add_user(&name, &[role.as_str()], None).await?;
        let c = s.login(&name, &format!("{name}-password")).await?;
        let home = c.get(s.url("/")).send().await?.text().await?;
        let csrf = home
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or_default()
            .to_owned();
        for (method, path, who) in PAGES {
            let url = s.url(
                &path
                    .replace("{id}", &target.to_string())
                    .replace("{team}", &team.id.to_string()),
            );
            let r = if *method == "GET" {
                c.get(&url).send().await?
            } else {
                // Forms with only the CSRF token: allowed roles fail validation, changing nothing.
                c.post(&url).form(&[("csrf", csrf.as_str())]).send().await?
            };
            let status = r.status();
            let allowed = match who {
                Who::Anyone | Who::SignedIn => true,
                Who::Roles(roles) => roles.contains(&role),
            };
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status.as_u16() < 500,
                    "{method} {path} as {role:?}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role:?}");
            }
        }
    }
    // Signed out, every page but the login page sends the visitor to log in.
    let anon = s.client();
    for (method, path, who) in PAGES.iter().filter(|p| p.0 == "GET") {
        let url = s.url(
            &path
                .replace("{id}", &target.to_string())
                .replace("{team}", &team.id.to_string()),
        );
        let status = anon.get(&url).send().await?.status();
        match who {
            Who::Anyone => assert_eq!(status, StatusCode::OK, "{method} {path}"),
            _ => assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}"),
        }
    }
    Ok(())
}
