//! Attachments of a customer (e.g. the business licence scan): type and size
//! checked against the policy, contents kept in the database so every
//! instance serves them, downloadable by those who can see the customer.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::entity::attachments;
use super::{editable, store, visible};
use crate::platform::audit::{self, AuditEntry};
use crate::platform::auth::Actor;
use crate::platform::db;
use crate::platform::error::{Error, FieldError, Fields, Result};
use crate::platform::state::AppState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub customer_id: i64,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<&attachments::Model> for AttachmentView {
    fn from(a: &attachments::Model) -> Self {
        AttachmentView {
            id: a.id,
            customer_id: a.customer_id,
            kind: a.kind.clone(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            created_by: a.created_by.clone(),
            created_at: a.created_at,
        }
    }
}

/// An uploaded file.
pub struct Upload {
    pub kind: String,
    pub filename: String,
    pub data: Vec<u8>,
}

/// The file's real type from its first bytes, so a renamed file is caught.
fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"%PDF-") {
        Some("pdf")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if data.len() > 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("webp")
    } else if data.starts_with(b"PK\x03\x04") {
        Some("zip")
    } else {
        None
    }
}

fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether the content matches the extension (Office files are zip archives).
fn content_matches(ext: &str, data: &[u8]) -> bool {
    matches!(
        (ext, sniff(data)),
        ("pdf", Some("pdf"))
            | ("png", Some("png"))
            | ("webp", Some("webp"))
            | ("jpg" | "jpeg", Some("jpg"))
            | ("xlsx" | "docx" | "pptx", Some("zip"))
    )
}

/// Keeps the name a user chose, minus path parts and control characters.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<AttachmentView>> {
    visible(state, actor, customer_id).await?;
    Ok(store::attachments_of(&state.db, customer_id)
        .await?
        .iter()
        .map(AttachmentView::from)
        .collect())
}

/// A file that passed the policy's checks, ready to be stored.
pub(crate) struct Checked {
    kind: String,
    filename: String,
    content_type: String,
    size: i64,
    sha: String,
    data: Vec<u8>,
}

/// Checks kind, size, type and content against the policy, reporting every
/// problem. `fixed_kind`: the kind is chosen by code (a document another capability files),
/// so a policy written before that kind existed does not refuse it.
pub(crate) fn check(
    policy: &crate::policy::CustomerPolicy,
    file: Upload,
    fixed_kind: bool,
) -> Result<Checked> {
    let mut f = Fields::default();
    if !fixed_kind && !policy.attachment_kinds.iter().any(|k| k.code == file.kind) {
        f.push(FieldError::new("kind", "error.choice_unknown").arg("value", &file.kind));
    }
    let filename = clean_filename(&file.filename);
    let ext = extension(&filename);
    let max = u64::from(policy.attachment_max_mib) * 1024 * 1024;
    if file.data.is_empty() {
        f.push(FieldError::new("file", "error.file_empty"));
    } else if file.data.len() as u64 > max {
        f.push(
            FieldError::new("file", "error.file_too_large").arg("max", policy.attachment_max_mib),
        );
    } else if !policy
        .attachment_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&ext))
    {
        f.push(
            FieldError::new("file", "error.file_type")
                .arg("types", policy.attachment_types.join(", ")),
        );
    } else if !content_matches(&ext, &file.data) {
        f.push(FieldError::new("file", "error.file_content").arg("ext", &ext));
    }
    f.finish()?;
    Ok(Checked {
        sha: hex::encode(Sha256::digest(&file.data)),
        size: i64::try_from(file.data.len()).unwrap_or(i64::MAX),
        content_type: mime_guess::from_ext(&ext)
            .first_or_octet_stream()
            .to_string(),
        kind: file.kind,
        filename,
        data: file.data,
    })
}

/// Stores a checked file as an attachment of the customer, in the caller's
/// transaction (which also writes the audit entry).
pub(crate) async fn insert(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    customer_id: i64,
    file: Checked,
    now: DateTime<Utc>,
) -> Result<attachments::Model> {
    // Identical files are stored once.
    if !store::blob_exists(txn, &file.sha).await? {
        store::insert_blob(txn, &file.sha, file.data).await?;
    }
    Ok(attachments::ActiveModel {
        customer_id: Set(customer_id),
        kind: Set(file.kind),
        filename: Set(file.filename),
        content_type: Set(file.content_type),
        size: Set(file.size),
        sha256: Set(file.sha),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

pub async fn upload(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    file: Upload,
) -> Result<AttachmentView> {
    editable(state, actor, customer_id).await?;
    let p = state.policy();
    let checked = check(&p.policy.customers, file, false)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let saved = insert(&txn, actor, customer_id, checked, now).await?;
    super::after_attachments_change(&txn, &p.policy, customer_id, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "attachment_add",
            "customer",
            customer_id,
        )
        .change("attachment", serde_json::Value::Null, describe(&saved)),
    )
    .await?;
    txn.commit().await?;
    Ok(AttachmentView::from(&saved))
}

/// How an attachment appears in the audit log.
pub(crate) fn describe(a: &attachments::Model) -> String {
    format!(
        "{} {} ({} bytes, sha256 {})",
        a.kind, a.filename, a.size, a.sha256
    )
}

/// The file, if its customer is visible to the actor (404 otherwise).
pub async fn download(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(AttachmentView, Vec<u8>)> {
    let a = attachments::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound)?;
    visible(state, actor, a.customer_id).await?;
    let data = store::blob(&state.db, &a.sha256)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((AttachmentView::from(&a), data))
}

pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let a = attachments::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound)?;
    editable(state, actor, a.customer_id).await?;
    let p = state.policy();
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    attachments::Entity::delete_by_id(id).exec(&txn).await?;
    super::after_attachments_change(&txn, &p.policy, a.customer_id, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "attachment_delete",
            "customer",
            a.customer_id,
        )
        .change(
            "attachment",
            format!("{} {}", a.kind, a.filename),
            serde_json::Value::Null,
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_match_the_extension() {
        assert!(content_matches("pdf", b"%PDF-1.7 ..."));
        assert!(content_matches("jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!content_matches("pdf", b"MZ\x90\x00 an exe"));
        assert!(!content_matches("png", b"%PDF-1.7"));
        assert!(content_matches("xlsx", b"PK\x03\x04...."));
    }

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("C:\\scans\\营业执照.pdf"), "营业执照.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b.pdf"), "ab.pdf");
        assert_eq!(extension("营业执照.PDF"), "pdf");
    }
}
