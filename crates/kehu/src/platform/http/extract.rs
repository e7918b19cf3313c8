//! Extractors: the signed-in actor, JSON and form bodies whose errors name
//! the field, and the client address.
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ClientIp;
use crate::platform::auth::Actor;
use crate::platform::auth::model::{Authorized, PermissionMarker};
use crate::platform::error::{Error, FieldError};
use crate::platform::input;
use crate::platform::state::AppState;

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or(Error::Unauthorized)
    }
}

/// Checks the permission by role, or by the policy in force for the
/// permissions the policy grants (e.g. exports).
impl<P: PermissionMarker> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let actor = <Actor as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        actor.require_in(P::PERMISSION, &state.policy().policy)?;
        Ok(Authorized(actor, std::marker::PhantomData))
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Actor>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .cloned()
            .unwrap_or(ClientIp("unknown".into())))
    }
}

/// A JSON body. Refused with 422 naming the field: malformed JSON, a value of the wrong type,
/// a field the body does not have (a misspelt date must not silently become today), and any
/// text with a control character or longer than the policy's `limits.text_max_chars`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let max = state.policy().policy.limits.text_max();
        let bytes = body_bytes(req, state).await?;
        json(&bytes, max).map(JsonBody)
    }
}

/// A JSON body that carries a whole document (a policy file) in one of its fields: the same
/// rules as [`JsonBody`], with room for the document.
pub struct DocumentBody<T>(pub T);

/// The longest document a [`DocumentBody`] field may hold, in characters.
const DOCUMENT_MAX_CHARS: usize = 1024 * 1024;

impl<T: DeserializeOwned> FromRequest<AppState> for DocumentBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        json(&bytes, DOCUMENT_MAX_CHARS).map(DocumentBody)
    }
}

async fn body_bytes(req: Request, state: &AppState) -> Result<axum::body::Bytes, Error> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|_| Error::Invalid(vec![FieldError::new("body", "error.body_unreadable")]))
}

/// Parses and checks a JSON body (see [`JsonBody`]).
pub fn json<T: DeserializeOwned>(bytes: &[u8], max_chars: usize) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::Invalid(vec![
            FieldError::new("body", "error.json_field").arg("detail", e),
        ])
    })?;
    let errors = input::check_json(&value, max_chars);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let mut unknown = Vec::new();
    let parsed: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        value,
        &mut |path: serde_ignored::Path<'_>| unknown.push(path.to_string()),
    ));
    let parsed = parsed.map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        Error::Invalid(vec![
            FieldError::new(field, "error.json_field").arg("detail", e.inner()),
        ])
    })?;
    if unknown.is_empty() {
        Ok(parsed)
    } else {
        Err(Error::Invalid(
            unknown
                .into_iter()
                .map(|field| FieldError::new(field, "error.unknown_field"))
                .collect(),
        ))
    }
}

/// Checks every name and value of a URL-encoded form or query string with the text rules.
fn check_pairs(bytes: &[u8], max_chars: usize) -> Result<(), Error> {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) else {
        return Ok(()); // the typed parse that follows names the problem
    };
    let mut errors = Vec::new();
    for (name, value) in &pairs {
        if name.chars().any(input::forbidden_char) {
            errors.push(FieldError::new("form", "error.control_chars"));
        } else if let Err(e) = input::check_text(name, value, max_chars) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// A URL-encoded form body (repeated keys fill lists, e.g. role checkboxes); every value obeys
/// the text rules of [`JsonBody`]. Fields the form does not have are ignored: pages post their
/// CSRF token and buttons along.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for FormBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let max = state.policy().policy.limits.text_max();
        form(&body_bytes(req, state).await?, max).map(FormBody)
    }
}

/// A form that carries a whole document (the policy page's text area): the rules of
/// [`FormBody`], with room for the document.
pub struct DocumentForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for DocumentForm<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        form(&body_bytes(req, state).await?, DOCUMENT_MAX_CHARS).map(DocumentForm)
    }
}

fn form<T: DeserializeOwned>(bytes: &[u8], max_chars: usize) -> Result<T, Error> {
    check_pairs(bytes, max_chars)?;
    serde_html_form::from_bytes(bytes).map_err(|e| {
        Error::Invalid(vec![
            FieldError::new("form", "error.json_field").arg("detail", e),
        ])
    })
}

/// A query string; a malformed one is a 422 naming the parameter (axum's
/// own `Query` answers in plain text). Values obey the text rules.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        check_pairs(q.as_bytes(), state.policy().policy.limits.text_max())?;
        serde_html_form::from_str(q).map(QueryParams).map_err(|e| {
            Error::Invalid(vec![
                FieldError::new("query", "error.json_field").arg("detail", e),
            ])
        })
    }
}

/// Serde helpers for form and query fields: an empty value (an unchosen
/// `<select>`, a blank filter) means "not given".
pub mod blank {
    use serde::{Deserialize, Deserializer};
    use std::str::FromStr;

    pub fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let s: Option<String> = Option::deserialize(d)?;
        match s.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }

    /// A checkbox or a JSON boolean: "on", "true", "1" or `true` mean yes; absent means no.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum B {
            Bool(bool),
            Text(String),
        }
        Ok(match Option::<B>::deserialize(d)? {
            None => false,
            Some(B::Bool(b)) => b,
            Some(B::Text(s)) => matches!(s.trim(), "on" | "true" | "1" | "yes"),
        })
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrText {
        Int(i64),
        Text(String),
    }

    /// An integer, as a JSON number or as form text; blank text is absent.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<IntOrText>::deserialize(d)? {
            None => Ok(None),
            Some(IntOrText::Int(i)) => Ok(Some(i)),
            Some(IntOrText::Text(s)) if s.trim().is_empty() => Ok(None),
            Some(IntOrText::Text(s)) => {
                s.trim().parse().map(Some).map_err(serde::de::Error::custom)
            }
        }
    }

    /// Text, or an integer written as a JSON number (amounts and quantities; never a float).
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<IntOrText>::deserialize(d)? {
            None => None,
            Some(IntOrText::Int(i)) => Some(i.to_string()),
            Some(IntOrText::Text(s)) => Some(s),
        })
    }
}
