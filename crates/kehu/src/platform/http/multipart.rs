//! The one reader of multipart uploads (attachments, property documents, imports from the
//! page): refuses a body whose declared length is over the limit before reading any of it,
//! reads the file in chunks and stops as soon as it passes the limit, and checks every text
//! field with the text rules. Fields the form does not have are refused.
use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use crate::platform::error::{Error, FieldError, Result};
use crate::platform::input;
use crate::platform::state::AppState;

/// Room for the multipart framing and the text fields beside the file.
const FRAMING: u64 = 64 * 1024;

/// What a form may hold.
pub struct Spec<'a> {
    /// The name of the file field.
    pub file: &'a str,
    /// The names of the text fields.
    pub texts: &'a [&'a str],
    /// The largest file, in MiB.
    pub max_file_mib: u32,
}

/// An uploaded file.
pub struct UploadedFile {
    /// As the browser named it (no path).
    pub filename: String,
    pub data: Vec<u8>,
}

/// A read form: its text fields by name, and its file if one was chosen (an empty file input
/// sends an empty part, which counts as none).
pub struct Form {
    pub texts: HashMap<String, String>,
    pub file: Option<UploadedFile>,
}

impl Form {
    /// A text field, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        input::clean(self.texts.get(name).map(String::as_str))
    }
}

fn too_large(spec: &Spec<'_>) -> Error {
    FieldError::new(spec.file, "error.file_too_large")
        .arg("max", spec.max_file_mib)
        .into()
}

fn unreadable(spec: &Spec<'_>) -> Error {
    FieldError::new(spec.file, "error.upload_unreadable").into()
}

/// Reads a multipart form by `spec`.
pub async fn read(req: Request, state: &AppState, spec: &Spec<'_>) -> Result<Form> {
    let max_file = u64::from(spec.max_file_mib) * 1024 * 1024;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_file + FRAMING) {
        return Err(too_large(spec));
    }
    let max_text = state.policy().policy.limits.text_max();
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|_| unreadable(spec))?;
    let mut texts = HashMap::new();
    let mut file = None;
    while let Some(mut field) = form.next_field().await.map_err(|_| unreadable(spec))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == spec.file {
            let filename = field.file_name().unwrap_or_default().to_owned();
            let mut data = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable(spec))? {
                if (data.len() + chunk.len()) as u64 > max_file {
                    return Err(too_large(spec));
                }
                data.extend_from_slice(&chunk);
            }
            if !data.is_empty() || !filename.is_empty() {
                file = Some(UploadedFile { filename, data });
            }
        } else if spec.texts.contains(&name.as_str()) {
            // A text field is at most `max_text` characters of at most four bytes.
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable(spec))? {
                if bytes.len() + chunk.len() > max_text.saturating_mul(4) {
                    return Err(FieldError::new(&name, "error.too_long")
                        .arg("max", max_text)
                        .into());
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::from(FieldError::new(&name, "error.upload_unreadable")))?;
            input::check_text(&name, &text, max_text)?;
            texts.insert(name, text);
        } else {
            let shown = if name.chars().any(input::forbidden_char) {
                "form".to_owned()
            } else {
                name.chars().take(64).collect()
            };
            return Err(FieldError::new(shown, "error.unknown_field").into());
        }
    }
    Ok(Form { texts, file })
}
