//! Walks every API route of the OpenAPI document with every role (and with
//! no credentials) and checks who may call it. A new route without an entry
//! in `EXPECTED` fails the test, so no endpoint ships without an
//! authorisation rule.
use std::collections::BTreeMap;

use kehu::platform::auth::Role;
use kehu::testing::{TestServer, password_of};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Who may call each operation: `Anyone` (no login needed), `SignedIn`, or
/// only the listed roles.
enum Who {
    Anyone,
    SignedIn,
    Roles(&'static [Role]),
    /// Acts on a customer owned by another sales rep: admins may, the
    /// policy's read-all roles may read but get 403 on writes, other sales
    /// staff get 404. A `Note` (an interaction) is for the policy's
    /// `interaction_roles` among those who see the customer: 403 for the rest.
    Customer(Access),
    /// Someone else's record addressed by id: 404 for every signed-in role.
    OthersRecord,
    /// A step on another rep's customer property that only the listed
    /// roles (and admins) may take: other visible roles get 403, sales
    /// staff who cannot see the customer 404.
    Property(&'static [Role]),
}

#[derive(Clone, Copy, PartialEq)]
enum Access {
    Read,
    Note,
    Write,
}

const READ_ALL: &[Role] = &[
    Role::Executive,
    Role::CustomerService,
    Role::Quality,
    Role::Finance,
    Role::Warehouse,
    Role::Engineering,
];
const SALES: &[Role] = &[Role::Admin, Role::SalesManager, Role::SalesRep];
const TRANSFER: &[Role] = &[Role::Admin, Role::SalesManager];
/// The default policy's `customers.interaction_roles`.
const INTERACTION: &[Role] = &[Role::SalesManager, Role::SalesRep, Role::CustomerService];
/// The default policy's `customers.export_roles`.
const EXPORT: &[Role] = &[Role::Admin, Role::SalesManager];

const ADMIN: &[Role] = &[Role::Admin];
const WAREHOUSE: &[Role] = &[Role::Warehouse];
/// Consignment settlements and custody payments (sales staff within their customers too).
const FINANCE: &[Role] = &[Role::Finance];
/// The default policy's verifier of raw material (the fixture's kind).
const QUALITY: &[Role] = &[Role::Quality];
const ABNORMALITY: &[Role] = &[Role::Warehouse, Role::Quality, Role::Engineering];
const COUNT_APPROVERS: &[Role] = &[Role::Finance];
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
    ("POST", "/api/v1/users/{id}/unlock", Who::Roles(ADMIN)),
    ("GET", "/api/v1/teams", Who::Roles(ADMIN)),
    ("POST", "/api/v1/teams", Who::Roles(ADMIN)),
    ("GET", "/api/v1/teams/{id}", Who::Roles(ADMIN)),
    ("PATCH", "/api/v1/teams/{id}", Who::Roles(ADMIN)),
    ("GET", "/api/v1/tokens", Who::SignedIn),
    ("POST", "/api/v1/tokens", Who::SignedIn),
    ("DELETE", "/api/v1/tokens/{id}", Who::OthersRecord),
    ("GET", "/api/v1/audit", Who::Roles(AUDITORS)),
    ("GET", "/api/v1/audit/verify", Who::Roles(AUDITORS)),
    ("GET", "/api/v1/policy", Who::SignedIn),
    ("PUT", "/api/v1/policy", Who::Roles(ADMIN)),
    ("POST", "/api/v1/policy/check", Who::SignedIn),
    ("GET", "/api/v1/policy/versions", Who::SignedIn),
    ("GET", "/api/v1/policy/versions/{version}", Who::SignedIn),
    ("GET", "/api/v1/numbering/{kind}", Who::SignedIn),
    ("GET", "/api/v1/customers", Who::SignedIn),
    ("POST", "/api/v1/customers", Who::Roles(SALES)),
    ("POST", "/api/v1/customers/transfer", Who::Roles(TRANSFER)),
    (
        "GET",
        "/api/v1/customers/import-template",
        Who::Roles(SALES),
    ),
    ("POST", "/api/v1/customers/import", Who::Roles(SALES)),
    ("GET", "/api/v1/customers/export", Who::Roles(EXPORT)),
    ("GET", "/api/v1/customers/{id}", Who::Customer(Access::Read)),
    (
        "PATCH",
        "/api/v1/customers/{id}",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/contacts",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/customers/{id}/contacts",
        Who::Customer(Access::Write),
    ),
    (
        "PATCH",
        "/api/v1/contacts/{id}",
        Who::Customer(Access::Write),
    ),
    (
        "DELETE",
        "/api/v1/contacts/{id}",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/interactions",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/customers/{id}/interactions",
        Who::Customer(Access::Note),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/visit-plans",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/customers/{id}/visit-plans",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/history",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/owners",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/shares",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/customers/{id}/shares",
        Who::Customer(Access::Write),
    ),
    (
        "DELETE",
        "/api/v1/customers/{id}/shares/{user_id}",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/customers/{id}/attachments",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/customers/{id}/attachments",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/attachments/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "DELETE",
        "/api/v1/attachments/{id}",
        Who::Customer(Access::Write),
    ),
    ("GET", "/api/v1/property/notices", Who::SignedIn),
    ("POST", "/api/v1/property/notices", Who::Roles(SALES)),
    (
        "GET",
        "/api/v1/property/notices/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/property/notices/{id}/lines",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/notices/{id}/receive",
        Who::Property(WAREHOUSE),
    ),
    ("GET", "/api/v1/property/items", Who::SignedIn),
    ("GET", "/api/v1/property/find", Who::SignedIn),
    ("GET", "/api/v1/property/due", Who::SignedIn),
    (
        "GET",
        "/api/v1/property/items/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/ledger",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/history",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/documents",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/care",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/abnormalities",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/api/v1/property/items/{id}/counts",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/verify",
        Who::Property(QUALITY),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/register",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/move",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/end",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/documents",
        Who::Property(QUALITY),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/care",
        Who::Property(QUALITY),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/abnormalities",
        Who::Property(ABNORMALITY),
    ),
    (
        "POST",
        "/api/v1/property/items/{id}/counts",
        Who::Property(WAREHOUSE),
    ),
    (
        "GET",
        "/api/v1/property/abnormalities/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/property/abnormalities/{id}/notify",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/abnormalities/{id}/instruction",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/counts/{id}/decide",
        Who::Property(COUNT_APPROVERS),
    ),
    ("GET", "/api/v1/property/consignment", Who::SignedIn),
    ("POST", "/api/v1/property/consignment", Who::Roles(SALES)),
    (
        "GET",
        "/api/v1/property/consignment/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "PATCH",
        "/api/v1/property/consignment/{id}",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/receipts",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/sales",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/returns",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/return-unsold",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/end",
        Who::Customer(Access::Write),
    ),
    (
        "GET",
        "/api/v1/property/consignment/{id}/statement",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/api/v1/property/consignment/{id}/settlements",
        Who::Property(FINANCE),
    ),
    ("GET", "/api/v1/property/custody", Who::SignedIn),
    ("POST", "/api/v1/property/custody", Who::Roles(SALES)),
    (
        "GET",
        "/api/v1/property/custody/{id}",
        Who::Customer(Access::Read),
    ),
    (
        "PATCH",
        "/api/v1/property/custody/{id}",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/api/v1/property/custody/{id}/check-ins",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/custody/{id}/check-outs",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/api/v1/property/custody/{id}/payments",
        Who::Property(FINANCE),
    ),
    (
        "POST",
        "/api/v1/property/custody/{id}/end",
        Who::Customer(Access::Write),
    ),
];

fn check(status: StatusCode, who: &Who, role: Role, method: &str, path: &str) {
    match expected(who, role) {
        None => {
            assert!(
                ![
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND
                ]
                .contains(&status),
                "{method} {path} as {role:?}: {status}"
            );
            assert!(
                status.as_u16() < 500,
                "{method} {path} as {role:?}: {status}"
            );
        }
        Some(want) => assert_eq!(status, want, "{method} {path} as {role:?}"),
    }
}

/// The status a role must get for a rule (None: anything but 401/403/404/5xx).
fn expected(who: &Who, role: Role) -> Option<StatusCode> {
    match who {
        Who::Anyone | Who::SignedIn => None,
        Who::OthersRecord => Some(StatusCode::NOT_FOUND),
        Who::Roles(roles) => (!roles.contains(&role)).then_some(StatusCode::FORBIDDEN),
        Who::Property(roles) => {
            if role == Role::Admin || roles.contains(&role) {
                None
            } else if READ_ALL.contains(&role) {
                Some(StatusCode::FORBIDDEN)
            } else {
                Some(StatusCode::NOT_FOUND)
            }
        }
        Who::Customer(Access::Note) => {
            if role != Role::Admin && !READ_ALL.contains(&role) {
                Some(StatusCode::NOT_FOUND)
            } else {
                (!INTERACTION.contains(&role)).then_some(StatusCode::FORBIDDEN)
            }
        }
        Who::Customer(access) => {
            if role == Role::Admin {
                None
            } else if READ_ALL.contains(&role) {
                (*access == Access::Write).then_some(StatusCode::FORBIDDEN)
            } else {
                Some(StatusCode::NOT_FOUND)
            }
        }
    }
}

/// A customer of another sales rep, with one contact: (its owner, the customer, the contact id).
async fn foreign_customer(
    s: &TestServer,
) -> anyhow::Result<(
    kehu::platform::auth::Actor,
    kehu::customers::CustomerView,
    i64,
)> {
    let other_rep = s.add_user("other_rep", &["sales_rep"], None).await?;
    let other = kehu::platform::auth::get_user(&s.state, other_rep).await?;
    let other_actor = kehu::platform::auth::Actor {
        user_id: other.id,
        username: other.username.clone(),
        display_name: other.display_name.clone(),
        roles: other.roles.clone(),
        team_id: None,
        language: "zh-CN".into(),
        csrf_token: None,
        session_id: None,
    };
    let customer = kehu::customers::create(
        &s.state,
        &other_actor,
        kehu::customers::CustomerInput {
            full_name: Some("上海精密模具有限公司".into()),
            customer_type: Some("dealer".into()),
            contact_name: Some("李四".into()),
            contact_phone: Some("13900001111".into()),
            ..Default::default()
        },
    )
    .await?;
    let contact_id = kehu::customers::contacts(&s.state, &other_actor, customer.id).await?[0].id;
    Ok((other_actor, customer, contact_id))
}

/// A consignment and a custody agreement of the foreign customer, each with goods: (consignment id, custody id).
async fn foreign_agreements(
    s: &TestServer,
    owner: &kehu::platform::auth::Actor,
    customer_id: i64,
) -> anyhow::Result<(i64, i64)> {
    use kehu::property::agreements as ag;
    let c = ag::create_consignment(
        &s.state,
        owner,
        ag::ConsignmentInput {
            customer_id: Some(customer_id),
            ..Default::default()
        },
    )
    .await?;
    let receipt = ag::ReceiptInput {
        item: Some("保温杯".into()),
        quantity: Some("5".into()),
        ..Default::default()
    };
    ag::receive(&s.state, owner, c.summary.id, receipt).await?;
    let k = ag::create_custody(
        &s.state,
        owner,
        ag::CustodyInput {
            customer_id: Some(customer_id),
            monthly_fee: Some("300".into()),
            ..Default::default()
        },
    )
    .await?;
    let check_in = ag::CustodyGoodsInput {
        item: Some("钢琴".into()),
        quantity: Some("1".into()),
        ..Default::default()
    };
    ag::check_in(&s.state, owner, k.summary.id, check_in).await?;
    Ok((c.summary.id, k.summary.id))
}

/// The versions of the agreements (a walk that changes nothing leaves them).
async fn agreement_versions(
    s: &TestServer,
    owner: &kehu::platform::auth::Actor,
    (consignment, custody): (i64, i64),
) -> anyhow::Result<(i64, i64)> {
    use kehu::property::agreements as ag;
    Ok((
        ag::consignment(&s.state, owner, consignment)
            .await?
            .summary
            .version,
        ag::custody(&s.state, owner, custody, &None)
            .await?
            .summary
            .version,
    ))
}

/// An actor for service calls in fixtures.
async fn actor_of(
    s: &TestServer,
    name: &str,
    roles: &[&str],
) -> anyhow::Result<kehu::platform::auth::Actor> {
    let id = s.add_user(name, roles, None).await?;
    let u = kehu::platform::auth::get_user(&s.state, id).await?;
    Ok(kehu::platform::auth::Actor {
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

/// Property of the foreign customer: a notice, a registered lot with an
/// open abnormality, and a count waiting for approval:
/// (notice, item, abnormality, count).
async fn property_fixture(
    s: &TestServer,
    owner: &kehu::platform::auth::Actor,
    customer_id: i64,
) -> anyhow::Result<(i64, i64, i64, i64)> {
    use kehu::property as p;
    let admin = actor_of(s, "fx_admin", &["admin"]).await?;
    let n = p::create_notice(
        &s.state,
        owner,
        p::NoticeInput {
            customer_id: Some(customer_id),
            expected_on: Some("2026-12-01".into()),
            lines: vec![p::NoticeLineInput {
                kind: Some("raw_material".into()),
                item_name: Some("ABS 粒料".into()),
                quantity: Some(20),
                unit: Some("kg".into()),
                spec: None,
            }],
            ..Default::default()
        },
    )
    .await?;
    let item = p::receive(
        &s.state,
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
        &s.state,
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
        &s.state,
        &admin,
        item,
        p::VerifyInput {
            verdict: Some("accepted".into()),
            report_document_id: Some(report.id),
            ..Default::default()
        },
    )
    .await?;
    p::register(
        &s.state,
        &admin,
        item,
        p::RegisterInput {
            location: Some("KG-A01".into()),
            ..Default::default()
        },
    )
    .await?;
    let count = p::count(
        &s.state,
        &admin,
        item,
        p::CountInput {
            location: Some("KG-A01".into()),
            counted_qty: Some(9),
        },
    )
    .await?
    .id;
    let abn = p::raise_abnormality(
        &s.state,
        &admin,
        item,
        p::AbnormalityInput {
            kind: Some("damaged".into()),
            description: Some("包装破损".into()),
            quantity: Some(1),
            ..Default::default()
        },
    )
    .await?
    .id;
    Ok((n.id, item, abn, count))
}

/// Makes sure the customer has an attachment (an admin's allowed DELETE removes it).
async fn ensure_attachment(
    s: &TestServer,
    owner: &kehu::platform::auth::Actor,
    customer_id: i64,
) -> anyhow::Result<i64> {
    if let Some(a) = kehu::customers::attachments::list(&s.state, owner, customer_id)
        .await?
        .first()
    {
        return Ok(a.id);
    }
    let upload = kehu::customers::attachments::Upload {
        kind: "business_licence".into(),
        filename: "营业执照.pdf".into(),
        data: b"%PDF-1.4 licence".to_vec(),
    };
    Ok(
        kehu::customers::attachments::upload(&s.state, owner, customer_id, upload)
            .await?
            .id,
    )
}

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
    let (other_actor, customer, mut contact_id) = foreign_customer(&s).await?;
    let mut attachment_id = ensure_attachment(&s, &other_actor, customer.id).await?;
    let (notice, item, abn, count) = property_fixture(&s, &other_actor, customer.id).await?;
    let agreements = foreign_agreements(&s, &other_actor, customer.id).await?;
    let versions = agreement_versions(&s, &other_actor, agreements).await?;

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
                .replace("/customers/{id}", &format!("/customers/{}", customer.id))
                .replace(
                    "/consignment/{id}",
                    &format!("/consignment/{}", agreements.0),
                )
                .replace("/custody/{id}", &format!("/custody/{}", agreements.1))
                .replace(
                    "/property/notices/{id}",
                    &format!("/property/notices/{notice}"),
                )
                .replace("/property/items/{id}", &format!("/property/items/{item}"))
                .replace(
                    "/property/abnormalities/{id}",
                    &format!("/property/abnormalities/{abn}"),
                )
                .replace(
                    "/property/counts/{id}",
                    &format!("/property/counts/{count}"),
                )
                .replace("/contacts/{id}", &format!("/contacts/{contact_id}"))
                .replace(
                    "/attachments/{id}",
                    &format!("/attachments/{attachment_id}"),
                )
                .replace("{user_id}", &stranger.to_string())
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
        // Admins last: an allowed DELETE really deletes.
        for (role, token) in tokens
            .iter()
            .filter(|t| *t.0 != Role::Admin)
            .chain(tokens.iter().filter(|t| *t.0 == Role::Admin))
        {
            let status = send(Some(token)).await?.status();
            check(status, who, *role, method, path);
        }
        // Put back what an admin deleted, for the routes that follow.
        attachment_id = ensure_attachment(&s, &other_actor, customer.id).await?;
        if kehu::customers::contacts(&s.state, &other_actor, customer.id)
            .await?
            .is_empty()
        {
            let input = kehu::customers::ContactInput {
                name: Some("王五".into()),
                ..Default::default()
            };
            contact_id = kehu::customers::add_contact(&s.state, &other_actor, customer.id, input)
                .await?
                .id;
        }
    }
    // The walk changed nothing: the customer and its contact are as they were.
    let after = kehu::customers::contacts(&s.state, &other_actor, customer.id).await?;
    assert_eq!(after.len(), 1);
    assert!(after[0].name == "李四" || after[0].name == "王五");
    assert_eq!(
        kehu::customers::visible(&s.state, &other_actor, customer.id)
            .await?
            .version,
        1
    );
    // The walk changed nothing: the agreements are as they were.
    assert_eq!(
        agreement_versions(&s, &other_actor, agreements).await?,
        versions
    );
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
    ("POST", "/admin/users/{id}/unlock", Who::Roles(ADMIN)),
    ("GET", "/admin/teams", Who::Roles(ADMIN)),
    ("POST", "/admin/teams", Who::Roles(ADMIN)),
    ("GET", "/admin/teams/{team}", Who::Roles(ADMIN)),
    ("POST", "/admin/teams/{team}", Who::Roles(ADMIN)),
    ("GET", "/admin/audit", Who::Roles(AUDITORS)),
    ("GET", "/admin/policy", Who::SignedIn),
    ("POST", "/admin/policy", Who::Roles(ADMIN)),
    ("GET", "/admin/policy/versions/1", Who::SignedIn),
    ("GET", "/customers", Who::SignedIn),
    ("GET", "/customers?overdue=true", Who::SignedIn),
    ("GET", "/customers/new", Who::Roles(SALES)),
    ("POST", "/customers/new", Who::Roles(SALES)),
    ("GET", "/customers/transfer", Who::Roles(TRANSFER)),
    ("POST", "/customers/transfer", Who::Roles(TRANSFER)),
    ("GET", "/customers/import", Who::Roles(SALES)),
    ("POST", "/customers/import", Who::Roles(SALES)),
    (
        "GET",
        "/customers/import/template?format=xlsx",
        Who::Roles(SALES),
    ),
    ("GET", "/customers/export?format=csv", Who::Roles(EXPORT)),
    (
        "GET",
        "/customers/export?format=xlsx&q=精密",
        Who::Roles(EXPORT),
    ),
    ("GET", "/customers/{customer}", Who::Customer(Access::Read)),
    (
        "GET",
        "/customers/{customer}/edit",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/edit",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/contacts",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/contacts/{contact}",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/contacts/{contact}/delete",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/interactions",
        Who::Customer(Access::Note),
    ),
    (
        "POST",
        "/customers/{customer}/visit-plans",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/shares",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/{customer}/attachments",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/customers/attachments/{attachment}/delete",
        Who::Customer(Access::Write),
    ),
    ("GET", "/property", Who::SignedIn),
    ("GET", "/property?list=care", Who::SignedIn),
    ("GET", "/property/find?number=GCC-0000", Who::SignedIn),
    ("GET", "/property/register", Who::SignedIn),
    ("GET", "/property/register?format=xlsx", Who::SignedIn),
    (
        "GET",
        "/property/labels?ids={item}",
        Who::Customer(Access::Read),
    ),
    ("GET", "/property/notices/new", Who::Roles(SALES)),
    ("POST", "/property/notices/new", Who::Roles(SALES)),
    (
        "GET",
        "/property/notices/{notice}",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/notices/{notice}/print",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/notices/{notice}/print?format=xlsx",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/property/notices/{notice}/lines",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/notices/{notice}/receive",
        Who::Property(WAREHOUSE),
    ),
    ("GET", "/property/items/{item}", Who::Customer(Access::Read)),
    (
        "GET",
        "/property/items/{item}/ledger",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/items/{item}/ledger?format=xlsx",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/property/items/{item}/verify",
        Who::Property(QUALITY),
    ),
    (
        "POST",
        "/property/items/{item}/register",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/items/{item}/move",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/items/{item}/end",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/items/{item}/care",
        Who::Property(QUALITY),
    ),
    (
        "POST",
        "/property/items/{item}/abnormalities",
        Who::Property(ABNORMALITY),
    ),
    (
        "POST",
        "/property/items/{item}/counts",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/items/{item}/documents",
        Who::Property(QUALITY),
    ),
    (
        "GET",
        "/property/abnormalities/{abn}",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/abnormalities/{abn}?format=xlsx",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/property/abnormalities/{abn}/notify",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/abnormalities/{abn}/instruction",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/counts/{count}/decide",
        Who::Property(COUNT_APPROVERS),
    ),
    ("GET", "/property/consignment", Who::SignedIn),
    (
        "GET",
        "/property/consignment?q=JSXY&status=active",
        Who::SignedIn,
    ),
    ("POST", "/property/consignment", Who::Roles(SALES)),
    (
        "GET",
        "/property/consignment/{consignment}",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/consignment/{consignment}/statement?month=2026-01",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/consignment/{consignment}/statement?month=2026-01&format=xlsx",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/edit",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/receipts",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/sales",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/returns",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/return-unsold",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/end",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/consignment/{consignment}/settlements",
        Who::Property(FINANCE),
    ),
    ("GET", "/property/custody", Who::SignedIn),
    ("POST", "/property/custody", Who::Roles(SALES)),
    (
        "GET",
        "/property/custody/{custody}",
        Who::Customer(Access::Read),
    ),
    (
        "GET",
        "/property/custody/{custody}?as_of=2026-12-31",
        Who::Customer(Access::Read),
    ),
    (
        "POST",
        "/property/custody/{custody}/edit",
        Who::Customer(Access::Write),
    ),
    (
        "POST",
        "/property/custody/{custody}/check-ins",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/custody/{custody}/check-outs",
        Who::Property(WAREHOUSE),
    ),
    (
        "POST",
        "/property/custody/{custody}/payments",
        Who::Property(FINANCE),
    ),
    (
        "POST",
        "/property/custody/{custody}/end",
        Who::Customer(Access::Write),
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_with_every_role() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let target = s.add_user("target", &["sales_rep"], None).await?;
    let (owner, customer, contact) = foreign_customer(&s).await?;
    let (notice, item, abn, count) = property_fixture(&s, &owner, customer.id).await?;
    let agreements = foreign_agreements(&s, &owner, customer.id).await?;
    let versions = agreement_versions(&s, &owner, agreements).await?;
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
    // Admins last: an allowed delete really deletes.
    let mut roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Admin)
        .collect();
    roles.push(Role::Admin);
    for role in roles {
        let attachment = ensure_attachment(&s, &owner, customer.id).await?;
        let name = format!("p_{}", role.as_str());
        s.add_user(&name, &[role.as_str()], None).await?;
        let c = s.login(&name, &password_of(&name)).await?;
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
                    .replace("{team}", &team.id.to_string())
                    .replace("{customer}", &customer.id.to_string())
                    .replace("{consignment}", &agreements.0.to_string())
                    .replace("{custody}", &agreements.1.to_string())
                    .replace("{contact}", &contact.to_string())
                    .replace("{notice}", &notice.to_string())
                    .replace("{item}", &item.to_string())
                    .replace("{abn}", &abn.to_string())
                    .replace("{count}", &count.to_string())
                    .replace("{attachment}", &attachment.to_string()),
            );
            let r = if *method == "GET" {
                c.get(&url).send().await?
            } else {
                // Forms with only the CSRF token: allowed roles fail validation, changing nothing.
                c.post(&url).form(&[("csrf", csrf.as_str())]).send().await?
            };
            check(r.status(), who, role, method, path);
        }
    }
    // Signed out, every page but the login page sends the visitor to log in.
    let anon = s.client();
    for (method, path, who) in PAGES.iter().filter(|p| p.0 == "GET") {
        let url = s.url(
            &path
                .replace("{id}", &target.to_string())
                .replace("{team}", &team.id.to_string())
                .replace("{customer}", &customer.id.to_string())
                .replace("{consignment}", &agreements.0.to_string())
                .replace("{custody}", &agreements.1.to_string())
                .replace("{notice}", &notice.to_string())
                .replace("{item}", &item.to_string())
                .replace("{abn}", &abn.to_string())
                .replace("{count}", &count.to_string()),
        );
        let status = anon.get(&url).send().await?.status();
        match who {
            Who::Anyone => assert_eq!(status, StatusCode::OK, "{method} {path}"),
            _ => assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}"),
        }
    }
    // The walk changed nothing on the agreements.
    assert_eq!(agreement_versions(&s, &owner, agreements).await?, versions);
    Ok(())
}
