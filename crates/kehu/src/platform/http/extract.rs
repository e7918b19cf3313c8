//! Extractors: the signed-in actor, JSON and form bodies whose errors name
//! the field, and the client address.
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ClientIp;
use crate::platform::auth::Actor;
use crate::platform::auth::model::{Authorized, PermissionMarker};
use crate::platform::error::{Error, FieldError};
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

/// A JSON body; a malformed one is a 422 naming the offending field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::Invalid(vec![FieldError::new("body", "error.body_unreadable")]))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                Error::Invalid(vec![
                    FieldError::new(field, "error.json_field").arg("detail", e.inner()),
                ])
            })
    }
}

/// A URL-encoded form body (repeated keys fill lists, e.g. role checkboxes).
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::Invalid(vec![FieldError::new("body", "error.body_unreadable")]))?;
        serde_html_form::from_bytes(&bytes)
            .map(FormBody)
            .map_err(|e| {
                Error::Invalid(vec![
                    FieldError::new("form", "error.json_field").arg("detail", e),
                ])
            })
    }
}

/// A query string; a malformed one is a 422 naming the parameter (axum's
/// own `Query` answers in plain text).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
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
