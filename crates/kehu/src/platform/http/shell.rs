//! The web shell: layout data every page shares (navigation, language,
//! signed-in user, CSRF token), the home page, the language switch and the
//! HTML rendering of errors.
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::LANG_COOKIE;
use crate::platform::auth::{Actor, Permission};
use crate::platform::error::{Error, Result};
use crate::platform::http::extract::{FormBody, QueryParams};
use crate::platform::i18n::{self, Lang};
use crate::platform::state::AppState;

/// A navigation entry. Capabilities that are not built yet are listed with
/// `available: false` and never shown, so no link is dead.
struct NavDef {
    key: &'static str,
    href: &'static str,
    available: bool,
    visible: fn(&Actor) -> bool,
}

fn anyone(_: &Actor) -> bool {
    true
}
fn admins(a: &Actor) -> bool {
    a.can(Permission::ManageUsers)
}
fn auditors(a: &Actor) -> bool {
    a.can(Permission::ViewAudit)
}

const NAV: &[NavDef] = &[
    NavDef {
        key: "nav.home",
        href: "/",
        available: true,
        visible: anyone,
    },
    NavDef {
        key: "nav.customers",
        href: "/customers",
        available: true,
        visible: anyone,
    },
    NavDef {
        key: "nav.grading",
        href: "/grading",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.credit",
        href: "/credit",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.property",
        href: "/property",
        available: true,
        visible: anyone,
    },
    NavDef {
        key: "nav.complaints",
        href: "/complaints",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.service",
        href: "/service",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.sales",
        href: "/quotations",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.attribution",
        href: "/attribution",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.reports",
        href: "/reports",
        available: false,
        visible: anyone,
    },
    NavDef {
        key: "nav.users",
        href: "/admin/users",
        available: true,
        visible: admins,
    },
    NavDef {
        key: "nav.teams",
        href: "/admin/teams",
        available: true,
        visible: admins,
    },
    NavDef {
        key: "nav.audit",
        href: "/admin/audit",
        available: true,
        visible: auditors,
    },
    NavDef {
        key: "nav.policy",
        href: "/admin/policy",
        available: true,
        visible: anyone,
    },
];

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: String,
    pub href: &'static str,
    pub active: bool,
}

/// What the layout template needs; built from the request context.
#[derive(Debug, Clone)]
pub struct Shell {
    pub lang: Lang,
    pub title: String,
    pub actor: Option<Actor>,
    pub csrf: String,
    pub path: String,
    pub nav: Vec<NavItem>,
}

impl Shell {
    /// The shell of the current request, titled by a catalogue key.
    pub fn new(title_key: &str) -> Shell {
        let ctx = i18n::request();
        let lang = i18n::current();
        let actor = ctx.as_ref().and_then(|c| c.actor.clone());
        let path = ctx.as_ref().map(|c| c.path.clone()).unwrap_or_default();
        let nav = match &actor {
            Some(a) => NAV
                .iter()
                .filter(|n| n.available && (n.visible)(a))
                .map(|n| NavItem {
                    label: i18n::tr(lang, n.key, &[]),
                    href: n.href,
                    active: if n.href == "/" {
                        path == "/"
                    } else {
                        path.starts_with(n.href)
                    },
                })
                .collect(),
            None => Vec::new(),
        };
        Shell {
            lang,
            title: i18n::tr(lang, title_key, &[]),
            actor,
            csrf: ctx.map(|c| c.csrf).unwrap_or_default(),
            path,
            nav,
        }
    }

    /// Translates a catalogue key (templates call `shell.t("…")`).
    pub fn t(&self, key: &str) -> String {
        i18n::tr(self.lang, key, &[])
    }

    /// Translates with one `%{name}` argument.
    pub fn t1(&self, key: &str, name: &str, value: &dyn std::fmt::Display) -> String {
        i18n::tr(self.lang, key, &[(name, value.to_string())])
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.as_str()
    }

    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    /// Formats a UTC time in the policy's zone for display.
    pub fn time(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        t.with_timezone(&i18n::tz())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn opt_time(&self, t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.as_ref()
            .map(|t| self.time(t))
            .unwrap_or_else(|| "—".into())
    }
}

/// Renders a template into a page response.
pub fn render<T: Template>(t: &T) -> Result<Response> {
    let html = t
        .render()
        .map_err(|e| Error::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(Html(html).into_response())
}

#[derive(Template)]
#[template(path = "platform/error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    message: String,
    fields: Vec<(String, String)>,
}

/// The HTML form of an error, for page requests. Signed-out visitors are
/// sent to the login page and brought back afterwards.
pub fn error_page(err: &Error) -> Response {
    if matches!(err, Error::Unauthorized) {
        let path = i18n::request()
            .map(|c| c.path)
            .unwrap_or_else(|| "/".into());
        let next = urlencoding::encode(&path).into_owned();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let lang = i18n::current();
    let page = ErrorPage {
        shell: Shell::new("error.title"),
        status: err.status().as_u16(),
        message: err.message(lang),
        fields: match err {
            Error::Invalid(fs) => fs
                .iter()
                .map(|f| (f.field.clone(), f.message(lang)))
                .collect(),
            _ => Vec::new(),
        },
    };
    match page.render() {
        Ok(html) => (err.status(), Html(html)).into_response(),
        Err(_) => (err.status(), err.message(lang)).into_response(),
    }
}

/// One thing the signed-in user should do, shown on the home page.
#[derive(Debug, Clone)]
pub struct Task {
    pub title: String,
    pub detail: String,
    pub href: String,
    pub overdue: bool,
}

/// Tasks for the home page. Each capability adds its due items here.
async fn tasks_for(state: &AppState, actor: &Actor) -> Result<Vec<Task>> {
    let mut tasks = Vec::new();
    tasks.extend(crate::policy::pages::tasks_for(state, actor));
    tasks.extend(crate::platform::capability::tasks(state, actor).await?);
    Ok(tasks)
}

#[derive(Template)]
#[template(path = "platform/home.html")]
struct HomePage {
    shell: Shell,
    tasks: Vec<Task>,
}

async fn home(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    let tasks = tasks_for(&state, &actor).await?;
    render(&HomePage {
        shell: Shell::new("home.title"),
        tasks,
    })
}

#[derive(Deserialize)]
struct LangQuery {
    lang: String,
    #[serde(default)]
    next: Option<String>,
}

/// Switches the language: a cookie for visitors, the stored preference for
/// signed-in users (through the profile update, so it is audited).
async fn switch_language(
    State(state): State<AppState>,
    jar: CookieJar,
    actor: Option<Actor>,
    FormBody(q): FormBody<LangQuery>,
) -> Result<Response> {
    let lang = Lang::parse(&q.lang).ok_or_else(|| {
        Error::from(crate::platform::error::FieldError::new(
            "lang",
            "error.language_unknown",
        ))
    })?;
    if let Some(a) = actor {
        crate::platform::auth::set_own_language(&state, &a, lang.as_str()).await?;
    }
    let cookie = Cookie::build((LANG_COOKIE, lang.as_str()))
        .path("/")
        .same_site(SameSite::Lax)
        .permanent()
        .build();
    let next = safe_next(q.next.as_deref());
    Ok((jar.add(cookie), Redirect::to(&next)).into_response())
}

/// Only local paths are followed after login or a language switch (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize)]
struct LangGet {
    lang: Option<String>,
}

async fn favicon() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "max-age=86400")],
    )
        .into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/lang",
            post(switch_language).get(|QueryParams(q): QueryParams<LangGet>| async move {
                // A GET only shows where to post; changing state needs the form.
                let _ = q.lang;
                Redirect::to("/")
            }),
        )
        .route("/favicon.ico", get(favicon))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

/// Field errors of a failed form post, to show beside the fields; any other
/// error becomes the form's general message.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    pub general: Option<String>,
    /// The errors are possible duplicates the user may confirm.
    pub duplicate: bool,
    pub fields: std::collections::BTreeMap<String, String>,
}

impl FormErrors {
    /// Splits an error into what a form shows; errors that are not about the
    /// input (404, 500…) are returned to be rendered as an error page.
    pub fn from_error(err: Error) -> std::result::Result<FormErrors, Error> {
        let lang = i18n::current();
        match err {
            e @ (Error::Invalid(_) | Error::PossibleDuplicate(_)) => {
                let duplicate = matches!(e, Error::PossibleDuplicate(_));
                let general = Some(e.message(lang));
                let (Error::Invalid(fs) | Error::PossibleDuplicate(fs)) = e else {
                    return Err(e);
                };
                let mut out = FormErrors {
                    general,
                    duplicate,
                    ..Default::default()
                };
                for f in fs {
                    out.fields
                        .entry(f.field.clone())
                        .or_insert_with(|| f.message(lang));
                }
                Ok(out)
            }
            e @ (Error::StaleVersion
            | Error::Conflict(..)
            | Error::RateLimited { .. }
            | Error::BadCredentials) => Ok(FormErrors {
                general: Some(e.message(lang)),
                ..Default::default()
            }),
            e => Err(e),
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// Field errors whose field no input on the form shows.
    pub fn others(&self, shown: &[&str]) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|(k, _)| !shown.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// 303 to a page after a successful form post.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
