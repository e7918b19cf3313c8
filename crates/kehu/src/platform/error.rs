//! The platform's error type and its one conversion into an HTTP response:
//! 422 with field paths for bad input, 404 for missing or out of scope, 409
//! for conflicts, 500 that hides details and logs them.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;

use super::i18n::{self, Lang};

/// A problem with one input field, translated when it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Path of the field, e.g. `roles` or `contacts[2].phone`.
    pub field: String,
    /// Catalogue key of the reason.
    pub key: String,
    pub args: Vec<(&'static str, String)>,
    /// An already translated message (e.g. a policy issue with its line).
    pub text: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, key: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            key: key.into(),
            args: Vec::new(),
            text: None,
        }
    }

    pub fn text(field: impl Into<String>, message: String) -> Self {
        FieldError {
            field: field.into(),
            key: String::new(),
            args: Vec::new(),
            text: Some(message),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn message(&self, lang: Lang) -> String {
        if let Some(t) = &self.text {
            return t.clone();
        }
        i18n::tr(lang, &self.key, &self.args)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not signed in")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The record changed since the caller read it (optimistic concurrency).
    #[error("stale version")]
    StaleVersion,
    /// Another conflict, with a catalogue key and arguments.
    #[error("conflict: {0}")]
    Conflict(String, Vec<(&'static str, String)>),
    /// Probable duplicates (same normalised name or phone): shown to the
    /// user, who may save anyway by confirming.
    #[error("possible duplicate")]
    PossibleDuplicate(Vec<FieldError>),
    /// Try again after `seconds` (sent as `Retry-After`).
    #[error("too many login attempts")]
    RateLimited { seconds: i64 },
    #[error("bad credentials")]
    BadCredentials,
    #[error("CSRF check failed")]
    Csrf,
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(vec![e])
    }
}

/// Collects field errors so a form reports all of them at once.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<FieldError>);

impl Fields {
    pub fn check(&mut self, r: std::result::Result<(), FieldError>) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldMessage>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized | Error::BadCredentials => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::Csrf => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::StaleVersion | Error::Conflict(..) | Error::PossibleDuplicate(_) => {
                StatusCode::CONFLICT
            }
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid",
            Error::Unauthorized => "unauthorized",
            Error::BadCredentials => "bad_credentials",
            Error::Forbidden => "forbidden",
            Error::Csrf => "csrf",
            Error::NotFound => "not_found",
            Error::StaleVersion => "stale_version",
            Error::Conflict(..) => "conflict",
            Error::PossibleDuplicate(_) => "possible_duplicate",
            Error::RateLimited { .. } => "rate_limited",
            Error::Db(_) | Error::Internal(_) => "internal",
        }
    }

    /// The user-facing message; internals never leak into it.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Error::Invalid(_) => i18n::tr(lang, "error.invalid", &[]),
            Error::Unauthorized => i18n::tr(lang, "error.unauthorized", &[]),
            Error::BadCredentials => i18n::tr(lang, "error.bad_credentials", &[]),
            Error::Forbidden => i18n::tr(lang, "error.forbidden", &[]),
            Error::Csrf => i18n::tr(lang, "error.csrf", &[]),
            Error::NotFound => i18n::tr(lang, "error.not_found", &[]),
            Error::StaleVersion => i18n::tr(lang, "error.stale_version", &[]),
            Error::Conflict(key, args) => i18n::tr(lang, key, args),
            Error::PossibleDuplicate(_) => i18n::tr(lang, "error.possible_duplicate", &[]),
            Error::RateLimited { seconds } => i18n::tr(
                lang,
                "error.rate_limited",
                &[("minutes", ((seconds + 59) / 60).max(1).to_string())],
            ),
            Error::Db(_) | Error::Internal(_) => i18n::tr(lang, "error.internal", &[]),
        }
    }

    pub fn body(&self, lang: Lang) -> ErrorBody {
        let fields = match self {
            Error::Invalid(fs) | Error::PossibleDuplicate(fs) => fs
                .iter()
                .map(|f| FieldMessage {
                    field: f.field.clone(),
                    message: f.message(lang),
                })
                .collect(),
            _ => Vec::new(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message: self.message(lang),
                fields,
            },
        }
    }

    /// Logs what the user is not shown.
    pub fn log(&self) {
        if let Error::Db(_) | Error::Internal(_) = self {
            tracing::error!(error = %self, "request failed");
        }
    }
}

impl Error {
    /// The answer to the caller, without logging: an error page for pages, the error body for
    /// the API, in the caller's language.
    pub fn response(&self) -> Response {
        let mut resp = if i18n::request().is_some_and(|c| c.page) {
            crate::platform::http::shell::error_page(self)
        } else {
            (self.status(), Json(self.body(i18n::current()))).into_response()
        };
        self.add_headers(&mut resp);
        resp
    }

    /// The headers the error asks of any answer that reports it: `Retry-After` on a 429.
    pub fn add_headers(&self, resp: &mut Response) {
        if let Error::RateLimited { seconds } = self
            && let Ok(v) = axum::http::HeaderValue::from_str(&(*seconds).max(1).to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        self.response()
    }
}
