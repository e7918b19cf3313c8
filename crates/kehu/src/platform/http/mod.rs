//! The HTTP server: one router for API and pages, the request context
//! middleware (who, which language, CSRF), metrics, health and OpenAPI.
pub mod assets;
pub mod extract;
pub mod multipart;
pub mod shell;

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::auth::{self, Actor};
use super::capability::Capabilities;
use super::error::Error;
use super::i18n::{self, Lang, RequestCtx};
use super::state::AppState;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const CSRF_COOKIE: &str = "kehu_csrf";
pub const LANG_COOKIE: &str = "kehu_lang";
/// Forms are small; attachments have their own limit.
const FORM_LIMIT: usize = 2 * 1024 * 1024;
/// The largest request body at all (policy limits are lower).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kehu API", description = "Kehu (客户) customer management: JSON API. Log in with POST /api/v1/session or send `Authorization: Bearer <token>`."),
    components(schemas(super::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Every API route, collected with its OpenAPI description: the platform's,
/// then each capability's.
pub fn api_router(capabilities: Capabilities) -> OpenApiRouter<AppState> {
    let platform = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::api::routes())
        .merge(super::audit_api::routes())
        .merge(crate::policy::api::routes())
        .merge(super::numbering_api::routes());
    capabilities
        .iter()
        .fold(platform, |routes, c| routes.merge(c.api()))
}

/// The OpenAPI document of the whole API.
pub fn openapi(capabilities: Capabilities) -> utoipa::openapi::OpenApi {
    api_router(capabilities).split_for_parts().1
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = api_router(state.capabilities).split_for_parts();
    let platform_pages = Router::new()
        .merge(auth::pages::routes())
        .merge(super::audit_api::page_routes())
        .merge(crate::policy::pages::routes())
        .merge(shell::routes());
    let pages = state
        .capabilities
        .iter()
        .fold(platform_pages, |pages, c| pages.merge(c.pages()));
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi))
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/assets/{*path}", get(assets::serve))
        .fallback(not_found)
        // Uploads and imports are larger than axum's 2 MiB default; the
        // policy's own limits are checked by the handlers.
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        // Inside the request context, so a panic's answer is a page or
        // JSON in the caller's language…
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), context))
        // …and outside it, for a panic in the context itself.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(record_metrics))
        .layer(
            // One INFO line per request: method, path, status, latency; no
            // headers or bodies, so no cookie, token or password is logged.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound
}

/// A handler that panicked answers 500 with the standard error body. The panic itself is
/// logged once, by the panic hook `kehu serve` installs, with its message and location.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Error::Internal(anyhow::anyhow!("a handler panicked")).response()
}

/// What pages may load: only Kehu's own scripts, styles and images (QR codes are inline SVG,
/// icons data URIs), never inside another site's frame.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI (a dependency's page) sets inline styles.
const CSP_API_DOCS: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The security headers of every answer: pages, API, downloads and errors alike.
async fn security_headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let csp = if docs { CSP_API_DOCS } else { CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// Liveness and database reachability, for load balancers.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "policy_version": state.policy().version})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unreachable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let (open, idle) = super::db::pool_usage(&state.db);
    metrics::gauge!("kehu_db_pool_connections").set(f64::from(open));
    metrics::gauge!("kehu_db_pool_idle_connections").set(idle as f64);
    match &state.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!("kehu_http_requests_total", &labels).increment(1);
    metrics::histogram!("kehu_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// The client's address: the connecting peer, or, when that peer is a
/// trusted reverse proxy, the last address it appended to X-Forwarded-For.
fn client_ip(req: &Request, trusted_proxies: &[String]) -> String {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if !trusted_proxies.iter().any(|p| p == &peer) {
        return peer;
    }
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        .unwrap_or(peer)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Resolves who is calling, fixes the language, enforces CSRF on every
/// cookie-authenticated write, and runs the rest inside that context.
async fn context(
    State(state): State<AppState>,
    jar: CookieJar,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let page = !(path.starts_with("/api/") || path == "/healthz" || path == "/metrics");
    let by_token = bearer(req.headers()).map(str::to_owned);
    let actor: Result<Option<Actor>, Error> = match (&by_token, jar.get(SESSION_COOKIE)) {
        (Some(t), _) => auth::resolve_token(&state, t).await,
        (None, Some(c)) => auth::resolve_session(&state, c.value()).await,
        (None, None) => Ok(None),
    };
    let actor = match actor {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language);
    let preferred = actor
        .as_ref()
        .and_then(|a| Lang::parse(&a.language))
        .or_else(|| jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())));
    // Pages follow the user's own choice (or the language button's cookie),
    // else the company's default: browsers send Accept-Language whether or
    // not anyone chose it. An API caller's explicit header wins.
    let chosen = if page {
        preferred
    } else {
        accept.or(preferred)
    };
    let lang = chosen
        .or_else(|| Lang::parse(&state.policy().policy.locale.default_language))
        .unwrap_or(Lang::Zh);
    let anon_csrf = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned());
    // Only pages post forms before a session exists (the login form); API
    // callers need no anonymous CSRF cookie.
    let new_csrf_cookie = (page && anon_csrf.is_none()).then(|| auth::password::random_secret(24));
    let csrf = actor
        .as_ref()
        .and_then(|a| a.csrf_token.clone())
        .or_else(|| anon_csrf.clone())
        .or_else(|| new_csrf_cookie.clone())
        .unwrap_or_default();
    let ctx = RequestCtx {
        lang,
        page,
        path: path.clone(),
        actor: actor.clone(),
        csrf: csrf.clone(),
        tz: state.policy().policy.timezone(),
    };
    i18n::scope(ctx, async move {
        let mut req = req;
        // Only POST can be sent cross-site without a CORS preflight (which
        // Kehu never grants), so POST is what needs the CSRF check.
        if *req.method() == Method::POST && by_token.is_none() {
            req = match check_csrf(req, &csrf, page).await {
                Ok(r) => r,
                Err(e) => return e.into_response(),
            };
        }
        if let Some(a) = actor {
            req.extensions_mut().insert(a);
        }
        let ip = ClientIp(client_ip(&req, &state.config.trusted_proxies));
        req.extensions_mut().insert(ip);
        let mut resp = next.run(req).await;
        if let Some(token) = new_csrf_cookie {
            let cookie = Cookie::build((CSRF_COOKIE, token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.config.secure_cookies)
                .build();
            if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    })
    .await
}

/// The caller's address, for login rate limits and session records.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// API writes with a cookie must be JSON (a cross-site form cannot send that
/// without a CORS preflight we never grant) or carry `X-CSRF-Token`; page
/// forms must carry the `csrf` field matching the session's token.
async fn check_csrf(req: Request, expected: &str, page: bool) -> Result<Request, Error> {
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(t) = header_token {
        return if !expected.is_empty() && constant_eq(&t, expected) {
            Ok(req)
        } else {
            Err(Error::Csrf)
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !page {
        return if content_type.starts_with("application/json") {
            Ok(req)
        } else {
            Err(Error::Csrf)
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let bytes: Bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| Error::Csrf)?;
        let found = form_urlencoded_value(&bytes, "csrf");
        let ok = found.is_some_and(|t| !expected.is_empty() && constant_eq(&t, expected));
        if !ok {
            return Err(Error::Csrf);
        }
        return Ok(Request::from_parts(parts, Body::from(bytes)));
    }
    if content_type.starts_with("multipart/form-data") {
        let q = req.uri().query().unwrap_or("");
        let found = form_urlencoded_value(q.as_bytes(), "csrf");
        if found.is_some_and(|t| !expected.is_empty() && constant_eq(&t, expected)) {
            return Ok(req);
        }
    }
    Err(Error::Csrf)
}

fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn constant_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut req = Request::new(Body::empty());
        let addr: std::net::SocketAddr = format!("{peer}:4000").parse().expect("address");
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        if let Some(f) = forwarded {
            req.headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_str(f).expect("header"));
        }
        req
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.1".to_owned()];
        assert_eq!(
            client_ip(&request("10.0.0.1", Some("1.2.3.4, 5.6.7.8")), &trusted),
            "5.6.7.8"
        );
        assert_eq!(
            client_ip(&request("9.9.9.9", Some("5.6.7.8")), &trusted),
            "9.9.9.9"
        );
        assert_eq!(
            client_ip(&request("10.0.0.1", Some("not an ip")), &trusted),
            "10.0.0.1"
        );
        assert_eq!(client_ip(&request("10.0.0.1", None), &trusted), "10.0.0.1");
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_the_error_body() {
        use tower::ServiceExt;
        let app: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let page: Option<u64> = None;
                    page.map(|p| (p + 1).to_string()).expect("a handler bug")
                }),
            )
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(middleware::from_fn(security_headers));
        let req = Request::get("/boom").body(Body::empty()).expect("request");
        let resp = app.oneshot(req).await.expect("an answer");
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["code"], "internal");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    #[test]
    fn form_tokens_are_found_and_compared_in_constant_time() {
        assert_eq!(
            form_urlencoded_value(b"a=1&csrf=xyz", "csrf").as_deref(),
            Some("xyz")
        );
        assert_eq!(form_urlencoded_value(b"a=1", "csrf"), None);
        assert!(constant_eq("abc", "abc"));
        assert!(!constant_eq("abc", "abd"));
        assert!(!constant_eq("abc", "abcd"));
    }
}
