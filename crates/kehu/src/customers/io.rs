//! Import and export of the customer archive (SPEC §1 "Import/export"):
//! Excel (.xlsx) and CSV with Chinese column headers, a template to download,
//! every bad row reported as row/column/reason.
//!
//! An import is one transaction: all or nothing, unless the caller asks to
//! skip bad rows. Every row goes through the same validation as the create
//! form ([`super::validate_new`]) and the same duplicate rules
//! ([`super::duplicates`]), plus duplicates within the file. To import
//! 100,000 rows in seconds, rows are validated first without touching the
//! database (existing duplicates are looked up in batches), then saved with
//! multi-row statements ([`super::insert_new`]).
//!
//! An export is a permission of its own (policy `customers.export_roles`),
//! holds only the customers the caller may see with the list's filters,
//! masks contact phones for roles outside `customers.phone_roles`, and is
//! audited (entity type `customer_export`).
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use super::entity::{contacts, customers};
use super::{CustomerFilter, CustomerInput, Known, NewCustomer, store};
use crate::platform::audit::{self, AuditEntry};
use crate::platform::auth::{self, Actor, Permission, Role};
use crate::platform::db;
use crate::platform::error::{Error, FieldError, Result};
use crate::platform::i18n::{self, Lang};
use crate::platform::schema::users;
use crate::platform::sheet::{self, Column, Format, RowError};
use crate::platform::state::AppState;
use crate::policy::CustomerPolicy;
use crate::policy::store::PolicyInForce;

/// The columns of an import (and, after the customer code, of an export).
pub const COLUMNS: &[Column] = &[
    Column::new("full_name", "客户全称", "Full name")
        .required()
        .hint("营业执照上的全称", "The full registered name"),
    Column::new("short_name", "简称", "Short name"),
    Column::new("credit_code", "统一社会信用代码", "Credit code").hint(
        "18 位，按 GB 32100-2015 校验；已存在的代码不能再导入",
        "Unified social credit code, 18 characters, checked per GB 32100-2015; must not exist yet",
    ),
    Column::new("customer_type", "客户类型", "Customer type")
        .required()
        .hint(
            "制度中的客户类型名称或代码，如 经销商 或 dealer",
            "A customer type of the policy, by name or code, e.g. Dealer or dealer",
        ),
    Column::new("stage", "客户阶段", "Stage").hint(
        "制度中的阶段名称或代码；留空为第一个阶段（潜在）",
        "A stage of the policy by name or code; empty: the first stage (potential)",
    ),
    Column::new("industry", "行业", "Industry").hint(
        "制度中的行业名称或代码",
        "An industry of the policy, by name or code",
    ),
    Column::new("region", "区域", "Region").hint(
        "制度中的区域名称或代码",
        "A region of the policy, by name or code",
    ),
    Column::new("address", "地址", "Address"),
    Column::new("legal_representative", "法定代表人", "Legal representative"),
    Column::new(
        "registered_capital",
        "注册资本（元）",
        "Registered capital (CNY)",
    )
    .hint(
        "单位：元，最多两位小数，如 5000000",
        "In yuan, at most 2 decimals, e.g. 5000000",
    ),
    Column::new("business_scope", "经营范围", "Business scope"),
    Column::new("scale", "企业规模", "Scale").hint(
        "大型、中型、小型（或代码）",
        "Large, medium, small (or the code)",
    ),
    Column::new("source", "客户来源", "Source").hint(
        "制度中的来源名称或代码",
        "A source of the policy, by name or code",
    ),
    Column::new("first_contact_date", "首次接触日期", "First contact date").hint(
        "日期，如 2026-01-15 或 2026/1/15",
        "A date, e.g. 2026-01-15 or 2026/1/15",
    ),
    Column::new(
        "cooperation_start_date",
        "开始合作日期",
        "Cooperation start date",
    )
    .hint(
        "日期，如 2026-01-15 或 2026/1/15",
        "A date, e.g. 2026-01-15 or 2026/1/15",
    ),
    Column::new("owner", "客户经理", "Owner").hint(
        "登录名；留空为导入人。销售经理只能指派本团队成员",
        "Login name; empty: the importer. Managers may name members of their teams only",
    ),
    Column::new("tags", "标签", "Tags").hint("多个标签用逗号分隔", "Separate with commas"),
    Column::new("notes", "备注", "Notes"),
    Column::new("grade", "等级", "Grade"),
    Column::new("contact_name", "联系人", "Contact"),
    Column::new("contact_phone", "联系人电话", "Contact phone").hint(
        "手机或座机，如 13812345678 或 021-12345678；多个用逗号分隔",
        "Mobile or landline, e.g. 13812345678 or 021-12345678; separate several with commas",
    ),
    Column::new("contact_title", "联系人职务", "Contact title"),
];

/// The customer code, first column of an export (an import ignores it: codes
/// come from the policy's numbering).
const CODE_COLUMN: Column = Column::new("code", "客户编号", "Customer code");

/// The columns of an export: the code, then the import columns.
pub fn export_columns() -> Vec<Column> {
    std::iter::once(CODE_COLUMN)
        .chain(COLUMNS.iter().copied())
        .collect()
}

/// How to import.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
pub struct ImportOptions {
    /// Import the good rows and report the bad ones (default: all or nothing).
    #[serde(default)]
    pub skip_invalid: bool,
    /// Import rows whose name or contact phone matches another customer's
    /// (a credit code that exists is refused whatever this says).
    #[serde(default)]
    pub confirm_duplicates: bool,
}

/// What an import is doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the file (no count yet).
    Reading,
    /// Validating rows: `done` of `total` rows.
    Validating,
    /// Saving customers: `done` of `total` good rows.
    Saving,
}

/// Told of progress: the stage, how many done, of how many.
pub type Progress = Arc<dyn Fn(Stage, usize, usize) + Send + Sync>;

/// A progress callback that ignores everything.
pub fn no_progress() -> Progress {
    Arc::new(|_, _, _| {})
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportRowError {
    /// The row number as the spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column header as the user sees it (in the caller's language);
    /// absent for a problem with the whole row.
    pub column: Option<String>,
    /// The column's key (`credit_code`, `customer_type` …).
    pub field: Option<String>,
    /// The reason, in the caller's language.
    pub message: String,
}

impl ImportRowError {
    /// The problem as the spreadsheet module's error report takes it.
    pub fn to_sheet(&self) -> RowError {
        let key = self
            .field
            .as_deref()
            .and_then(|f| COLUMNS.iter().find(|c| c.key == f))
            .map(|c| c.key);
        RowError {
            row: self.row,
            column: self.column.clone(),
            key,
            message: self.message.clone(),
        }
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: usize,
    /// Customers created.
    pub imported: usize,
    /// Bad rows left out (only when skipping bad rows was asked for).
    pub skipped: usize,
    /// Every problem of every bad row, in row order.
    pub errors: Vec<ImportRowError>,
}

impl ImportReport {
    /// Nothing was imported because of bad rows (the API answers 422).
    pub fn refused(&self) -> bool {
        self.imported == 0 && !self.errors.is_empty()
    }

    /// The number of distinct bad rows.
    pub fn bad_rows(&self) -> usize {
        let mut rows: Vec<usize> = self.errors.iter().map(|e| e.row).collect();
        rows.dedup();
        rows.len()
    }
}

/// Whether the actor may import customers: the roles that may create them.
pub fn may_import(actor: &Actor) -> bool {
    super::may_create(actor)
}

/// Whether the actor may export customer lists (policy `customers.export_roles`).
pub fn may_export(state: &AppState, actor: &Actor) -> bool {
    actor.can_in(Permission::ExportCustomers, &state.policy().policy)
}

fn file_error(e: &sheet::SheetError) -> Error {
    Error::Invalid(vec![FieldError::text(
        "file",
        e.message(i18n::current().as_str()),
    )])
}

/// Imports customers from an .xlsx or CSV file (all or nothing unless
/// `options.skip_invalid`). The importer owns the customers unless a row
/// names another owner that the owner rules allow.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    bytes: Vec<u8>,
    format: Format,
    options: ImportOptions,
    progress: Progress,
) -> Result<ImportReport> {
    if !may_import(actor) {
        return Err(Error::Forbidden);
    }
    let p = state.policy();
    let now = state.clock.now();
    let managed_teams = if actor.has_role(Role::Admin) {
        Vec::new()
    } else {
        store::managed_teams(&state.db, actor.user_id).await?
    };
    let check = RowCheck {
        policy: p.clone(),
        actor: actor.clone(),
        users: auth::store::all_users(&state.db).await?,
        managed_teams,
        now,
        lang: i18n::current(),
    };
    progress(Stage::Reading, 0, 0);
    let validate_progress = progress.clone();
    let checked = i18n::spawn_blocking(move || check.run(&bytes, format, &validate_progress))
        .await
        .map_err(|e| Error::Internal(e.into()))??;
    let rows = checked.len();

    // Existing customers the good rows may duplicate, in a few batched queries.
    let mut codes = Vec::new();
    let mut names = Vec::new();
    let mut terms = Vec::new();
    for new in checked.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        codes.extend(new.c.credit_code.iter().cloned());
        names.push(new.c.name_norm.clone());
        terms.extend(new.phones.iter().map(|p| super::model::phone_term(p)));
    }
    for list in [&mut codes, &mut names, &mut terms] {
        list.sort_unstable();
        list.dedup();
    }
    let known = Known::load(&state.reads, &codes, &names, &terms).await?;

    let lang = i18n::current();
    let mut errors = Vec::new();
    let mut good = Vec::new();
    let mut in_file = InFile::default();
    for (row, result) in checked {
        match result {
            Err(errs) => errors.extend(errs),
            Ok(new) => match in_file.check(&known, new, row, &options, lang) {
                Ok(new) => good.push(new),
                Err(errs) => errors.extend(errs),
            },
        }
    }
    let mut report = ImportReport {
        rows,
        imported: 0,
        skipped: 0,
        errors,
    };
    if !report.errors.is_empty() {
        if !options.skip_invalid {
            return Ok(report);
        }
        report.skipped = report.bad_rows();
    }
    if good.is_empty() {
        return Ok(report);
    }
    let total = good.len();
    progress(Stage::Saving, 0, total);
    let txn = db::begin_write(&state.db).await?;
    db::begin_bulk(&txn).await?;
    let saving = |done: usize| progress(Stage::Saving, done, total);
    let saved = super::insert_new(&txn, &p.policy, actor, good, now, "import", &saving).await?;
    db::end_bulk(&txn).await?;
    txn.commit().await?;
    report.imported = saved.len();
    // A large import changes how customers spread over owners and codes.
    db::refresh_after_bulk_write(&state.db, super::store::BULK_WRITTEN).await?;
    Ok(report)
}

/// Rows per validating thread at least (fewer are not worth a thread).
const VALIDATE_SHARE_MIN: usize = 2_000;

/// What validating rows needs, owned, so it runs on the blocking pool.
struct RowCheck {
    policy: Arc<PolicyInForce>,
    actor: Actor,
    users: Vec<users::Model>,
    managed_teams: Vec<i64>,
    now: DateTime<Utc>,
    lang: Lang,
}

type Checked = Vec<(usize, std::result::Result<NewCustomer, Vec<ImportRowError>>)>;

impl RowCheck {
    /// Reads the file and validates every row with the create form's rules.
    fn run(&self, bytes: &[u8], format: Format, progress: &Progress) -> Result<Checked> {
        let limits = self.policy.policy.limits.sheet();
        let rows =
            sheet::read_with_limits(bytes, format, COLUMNS, &limits).map_err(|e| file_error(&e))?;
        let total = rows.len();
        progress(Stage::Validating, 0, total);
        let policy = &self.policy.policy.customers;
        let base = super::blank_customer(&self.policy, &self.actor, self.now);
        let owners = Owners::new(&self.users);
        let choices = Choices::new(policy);
        let check_row = |row: &sheet::Row| {
            let input = input_of(row, &choices);
            let owner = match row.get("owner") {
                None => Ok(self.actor.user_id),
                Some(name) => match owners.find(name) {
                    Some(u) => super::owner_rule(&self.actor, u.id, Some(u), &self.managed_teams),
                    None => {
                        Err(FieldError::new("owner_id", "customer_io.owner_unknown")
                            .arg("value", name))
                    }
                },
            };
            let result = super::validate_new(&base, &input, policy, owner).map_err(|fs| {
                fs.iter()
                    .map(|f| row_error(row.number, &f.field, f.message(self.lang), self.lang))
                    .collect()
            });
            (row.number, result)
        };
        // Rows are independent (pinyin and search terms are most of the
        // work), so every core takes a share, in order.
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(total.div_ceil(VALIDATE_SHARE_MIN).max(1));
        let done = std::sync::atomic::AtomicUsize::new(0);
        let ctx = i18n::request();
        let share = total.div_ceil(threads).max(1);
        let out: Checked = std::thread::scope(|scope| {
            let workers: Vec<_> = rows
                .chunks(share)
                .map(|part| {
                    let (ctx, done, check_row) = (ctx.clone(), &done, &check_row);
                    scope.spawn(move || {
                        i18n::within(ctx, || {
                            let mut out = Vec::with_capacity(part.len());
                            for row in part {
                                out.push(check_row(row));
                                if out.len() % 1000 == 0 {
                                    let n = done.fetch_add(1000, Ordering::Relaxed) + 1000;
                                    progress(Stage::Validating, n.min(total), total);
                                }
                            }
                            out
                        })
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        if out.len() != total {
            return Err(Error::Internal(anyhow::anyhow!(
                "a validating thread failed"
            )));
        }
        progress(Stage::Validating, total, total);
        Ok(out)
    }
}

/// A row problem for a field of [`super::CustomerInput`], named by its column.
fn row_error(row: usize, field: &str, message: String, lang: Lang) -> ImportRowError {
    let key = match field {
        "owner_id" => "owner",
        other => other,
    };
    match COLUMNS.iter().find(|c| c.key == key) {
        Some(c) => ImportRowError {
            row,
            column: Some(c.header(lang.as_str()).to_owned()),
            field: Some(c.key.to_owned()),
            message,
        },
        None => ImportRowError {
            row,
            column: None,
            field: None,
            message,
        },
    }
}

/// Owners by login name (case-insensitive) or by a display name only one user has.
struct Owners<'a> {
    by_username: HashMap<String, &'a users::Model>,
    by_display: HashMap<&'a str, Option<&'a users::Model>>,
}

impl<'a> Owners<'a> {
    fn new(users: &'a [users::Model]) -> Self {
        let mut by_display: HashMap<&str, Option<&users::Model>> = HashMap::new();
        for u in users {
            by_display
                .entry(u.display_name.as_str())
                .and_modify(|v| *v = None)
                .or_insert(Some(u));
        }
        Owners {
            by_username: users
                .iter()
                .map(|u| (u.username.to_lowercase(), u))
                .collect(),
            by_display,
        }
    }

    fn find(&self, name: &str) -> Option<&'a users::Model> {
        self.by_username
            .get(&name.to_lowercase())
            .copied()
            .or_else(|| self.by_display.get(name).copied().flatten())
    }
}

/// The policy's choice lists by code, Chinese name or English name.
struct Choices {
    lists: HashMap<&'static str, HashMap<String, String>>,
}

const CHOICE_FIELDS: &[(&str, &str)] = &[
    ("customer_type", "types"),
    ("stage", "stages"),
    ("industry", "industries"),
    ("region", "regions"),
    ("scale", "scales"),
    ("source", "sources"),
];

impl Choices {
    fn new(policy: &CustomerPolicy) -> Self {
        let mut lists = HashMap::new();
        for (field, list) in CHOICE_FIELDS {
            let mut map = HashMap::new();
            for c in policy.choices(list) {
                for text in [&c.en, &c.zh, &c.code] {
                    map.insert(text.trim().to_lowercase(), c.code.clone());
                }
            }
            lists.insert(*field, map);
        }
        Choices { lists }
    }

    /// The code a cell names; an unknown value is kept, so that validation
    /// reports it as it was written.
    fn code(&self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value?;
        let code = self
            .lists
            .get(field)
            .and_then(|m| m.get(&value.trim().to_lowercase()));
        Some(code.cloned().unwrap_or_else(|| value.to_owned()))
    }
}

/// A date as spreadsheets and people write it (`2026-01-15`, `2026/1/15`,
/// `2026.1.15`, `2026年1月15日`, with or without a time) as `YYYY-MM-DD`;
/// anything else is kept for validation to report.
fn normalize_date(s: &str) -> String {
    let day = s.split_whitespace().next().unwrap_or(s);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(day, format) {
            return d.format("%Y-%m-%d").to_string();
        }
    }
    s.to_owned()
}

/// A row as the create form's input.
fn input_of(row: &sheet::Row, choices: &Choices) -> CustomerInput {
    let get = |key: &str| row.get(key).map(str::to_owned);
    let choice = |key: &str| choices.code(key, row.get(key));
    let date = |key: &str| row.get(key).map(normalize_date);
    CustomerInput {
        full_name: get("full_name"),
        short_name: get("short_name"),
        credit_code: get("credit_code"),
        customer_type: choice("customer_type"),
        industry: choice("industry"),
        region: choice("region"),
        address: get("address"),
        legal_representative: get("legal_representative"),
        registered_capital: get("registered_capital"),
        business_scope: get("business_scope"),
        scale: choice("scale"),
        stage: choice("stage"),
        source: choice("source"),
        first_contact_date: date("first_contact_date"),
        cooperation_start_date: date("cooperation_start_date"),
        tags: get("tags"),
        notes: get("notes"),
        grade: get("grade"),
        contact_name: get("contact_name"),
        contact_phone: get("contact_phone"),
        contact_title: get("contact_title"),
        ..Default::default()
    }
}

/// Credit codes, names and phones of the rows seen so far in the file.
#[derive(Default)]
struct InFile {
    credit_codes: HashMap<String, usize>,
    names: HashMap<String, usize>,
    phones: HashMap<String, usize>,
}

impl InFile {
    /// The duplicate rules for one validated row: against the database
    /// ([`super::duplicates`]) and against earlier rows of the file.
    fn check(
        &mut self,
        known: &Known,
        mut new: NewCustomer,
        row: usize,
        options: &ImportOptions,
        lang: Lang,
    ) -> std::result::Result<NewCustomer, Vec<ImportRowError>> {
        let mut errors = Vec::new();
        let mut possible = Vec::new();
        match super::duplicates(known, &new.c, &new.phones, None, false) {
            Ok(()) => {}
            Err(Error::Conflict(key, args)) => errors.push(row_error(
                row,
                "credit_code",
                i18n::tr(lang, &key, &args),
                lang,
            )),
            Err(Error::PossibleDuplicate(fs)) => {
                possible.extend(
                    fs.iter()
                        .map(|f| row_error(row, &f.field, f.message(lang), lang)),
                );
            }
            Err(e) => errors.push(ImportRowError {
                row,
                column: None,
                field: None,
                message: e.message(lang),
            }),
        }
        let same = |key: &str, first: usize| i18n::tr(lang, key, &[("row", first.to_string())]);
        if let Some(code) = &new.c.credit_code {
            match self.credit_codes.get(code) {
                Some(&first) => errors.push(row_error(
                    row,
                    "credit_code",
                    same("customer_io.same_credit_code", first),
                    lang,
                )),
                None => {
                    self.credit_codes.insert(code.clone(), row);
                }
            }
        }
        match self.names.get(&new.c.name_norm) {
            Some(&first) => possible.push(row_error(
                row,
                "full_name",
                same("customer_io.same_name", first),
                lang,
            )),
            None => {
                self.names.insert(new.c.name_norm.clone(), row);
            }
        }
        for phone in &new.phones {
            let term = super::model::phone_term(phone);
            match self.phones.get(&term) {
                Some(&first) if first != row => possible.push(row_error(
                    row,
                    "contact_phone",
                    same("customer_io.same_phone", first),
                    lang,
                )),
                Some(_) => {}
                None => {
                    self.phones.insert(term, row);
                }
            }
        }
        if !possible.is_empty() {
            if options.confirm_duplicates {
                new.reason = Some("confirmed possible duplicate (import)".into());
            } else {
                errors.extend(possible);
            }
        }
        if errors.is_empty() {
            Ok(new)
        } else {
            Err(errors)
        }
    }
}

/// The import template: the header row (required columns marked `*`), one
/// example row with values of the policy in force, and (xlsx) an instructions
/// sheet.
pub fn template(policy: &CustomerPolicy, format: Format, lang: Lang) -> Result<Vec<u8>> {
    let first = |list: &str| {
        policy
            .choices(list)
            .first()
            .map(|c| c.name(lang.as_str()).to_owned())
            .unwrap_or_default()
    };
    let example: Vec<String> = COLUMNS
        .iter()
        .map(|c| match c.key {
            "full_name" => "上海示例精密机械有限公司".to_owned(),
            "short_name" => "示例机械".to_owned(),
            "credit_code" => "91350100M000100Y43".to_owned(),
            "customer_type" => first("types"),
            "stage" => first("stages"),
            "industry" => first("industries"),
            "region" => first("regions"),
            "address" => "上海市浦东新区示例路 1 号".to_owned(),
            "legal_representative" => "张三".to_owned(),
            "registered_capital" => "5000000".to_owned(),
            "business_scope" => "机械设备及配件销售".to_owned(),
            "scale" => first("scales"),
            "source" => first("sources"),
            "first_contact_date" => "2026-01-15".to_owned(),
            "tags" => "重点客户".to_owned(),
            "contact_name" => "李四".to_owned(),
            "contact_phone" => "13800138000".to_owned(),
            "contact_title" => "采购经理".to_owned(),
            _ => String::new(),
        })
        .collect();
    sheet::template(format, COLUMNS, &example, lang.as_str()).map_err(|e| file_error(&e))
}

/// A file to download.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub format: Format,
    /// The file name to offer (may hold Chinese).
    pub filename: String,
    /// An ASCII file name for clients that do not read RFC 5987 names.
    pub ascii_filename: String,
    /// Data rows in the file.
    pub rows: usize,
}

impl Download {
    /// The `Content-Disposition` header value.
    pub fn disposition(&self) -> String {
        format!(
            "attachment; filename=\"{}\"; filename*=UTF-8''{}",
            self.ascii_filename,
            urlencoding::encode(&self.filename)
        )
    }

    /// The file as an HTTP response.
    pub fn into_response(self) -> axum::response::Response {
        use axum::http::header;
        use axum::response::IntoResponse;
        let disposition = self.disposition();
        (
            [
                (header::CONTENT_TYPE, self.format.content_type().to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            self.bytes,
        )
            .into_response()
    }
}

/// The template as a download.
pub fn template_download(state: &AppState, actor: &Actor, format: Format) -> Result<Download> {
    if !may_import(actor) {
        return Err(Error::Forbidden);
    }
    let lang = i18n::current();
    let bytes = template(&state.policy().policy.customers, format, lang)?;
    let name = i18n::tr(lang, "customer_io.template_file", &[]);
    Ok(Download {
        bytes,
        format,
        filename: format!("{name}.{}", format.extension()),
        ascii_filename: format!("customers-template.{}", format.extension()),
        rows: 1,
    })
}

/// The bad rows of an import as a downloadable report (行号/列/原因).
pub fn error_report(errors: &[ImportRowError], format: Format) -> Result<Download> {
    let lang = i18n::current();
    let rows: Vec<RowError> = errors.iter().map(ImportRowError::to_sheet).collect();
    let bytes = sheet::error_report(format, &rows, lang.as_str()).map_err(|e| file_error(&e))?;
    let name = i18n::tr(lang, "customer_io.report_file", &[]);
    Ok(Download {
        bytes,
        format,
        filename: format!("{name}.{}", format.extension()),
        ascii_filename: format!("customer-import-errors.{}", format.extension()),
        rows: errors.len(),
    })
}

/// Customers per contacts lookup of an export.
const EXPORT_CHUNK: usize = 500;

/// Exports the customers the actor may see that match `filter` (sorted like
/// the list; not paged), and records the export in the audit log.
pub async fn export(
    state: &AppState,
    actor: &Actor,
    filter: &CustomerFilter,
    format: Format,
) -> Result<Download> {
    let p = state.policy();
    actor.require_in(Permission::ExportCustomers, &p.policy)?;
    let policy = &p.policy.customers;
    let lang = i18n::current();
    let show_phones = super::may_see_phones(policy, actor);
    let q = super::filtered(state, actor, filter).await?;
    let customers = store::order(q, filter.sort.as_deref().unwrap_or("-updated"))
        .all(&state.db)
        .await?;
    if format == Format::Xlsx && customers.len() > sheet::XLSX_MAX_DATA_ROWS {
        return Err(file_error(&sheet::SheetError::TooLarge(
            sheet::Limit::Rows(sheet::XLSX_MAX_DATA_ROWS),
        )));
    }
    let users: HashMap<i64, String> = auth::store::all_users(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let mut first_contact: HashMap<i64, contacts::Model> = HashMap::new();
    for chunk in customers.chunks(EXPORT_CHUNK) {
        let ids = chunk.iter().map(|c| c.id);
        for contact in contacts::Entity::find()
            .filter(contacts::Column::CustomerId.is_in(ids))
            .order_by_asc(contacts::Column::Id)
            .all(&state.db)
            .await?
        {
            first_contact.entry(contact.customer_id).or_insert(contact);
        }
    }
    let columns = export_columns();
    let rows: Vec<Vec<String>> = customers
        .iter()
        .map(|c| {
            let contact = first_contact.get(&c.id);
            columns
                .iter()
                .map(|col| export_cell(c, contact, col.key, policy, lang, &users, show_phones))
                .collect()
        })
        .collect();
    let sheet_name = i18n::tr(lang, "customers.title", &[]);
    let bytes = sheet::write(format, &columns, &rows, lang.as_str(), &sheet_name)
        .map_err(|e| file_error(&e))?;

    let now = state.clock.now();
    let mut used = serde_json::to_value(filter).unwrap_or_default();
    if let Some(o) = used.as_object_mut() {
        o.retain(|k, v| !v.is_null() && !matches!(k.as_str(), "page" | "per_page"));
    }
    let txn = db::begin_write(&state.db).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "export",
            "customer_export",
            now.format("%Y%m%d%H%M%S%3f"),
        )
        .change("filter", serde_json::Value::Null, used)
        .change("rows", serde_json::Value::Null, customers.len())
        .change("format", serde_json::Value::Null, format.extension())
        .change("phones_masked", serde_json::Value::Null, !show_phones),
    )
    .await?;
    txn.commit().await?;
    let stamp = now
        .with_timezone(&p.policy.timezone())
        .format("%Y%m%d-%H%M")
        .to_string();
    let name = i18n::tr(lang, "customer_io.export_file", &[]);
    Ok(Download {
        bytes,
        format,
        filename: format!("{name}-{stamp}.{}", format.extension()),
        ascii_filename: format!("customers-{stamp}.{}", format.extension()),
        rows: customers.len(),
    })
}

/// One cell of an export: choices by their names (which an import reads
/// back), money in yuan, the owner's login name, the first contact.
fn export_cell(
    c: &customers::Model,
    contact: Option<&contacts::Model>,
    key: &str,
    policy: &CustomerPolicy,
    lang: Lang,
    users: &HashMap<i64, String>,
    show_phones: bool,
) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let choice = |list: &str, code: &str| {
        policy
            .choices(list)
            .iter()
            .find(|ch| ch.code == code)
            .map(|ch| ch.name(lang.as_str()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    };
    let opt_choice = |list: &str, code: &Option<String>| {
        code.as_deref()
            .map(|code| choice(list, code))
            .unwrap_or_default()
    };
    let date = |d: &Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    match key {
        "code" => c.code.clone(),
        "full_name" => c.full_name.clone(),
        "short_name" => opt(&c.short_name),
        "credit_code" => opt(&c.credit_code),
        "customer_type" => choice("types", &c.customer_type),
        "stage" => choice("stages", &c.stage),
        "industry" => opt_choice("industries", &c.industry),
        "region" => opt_choice("regions", &c.region),
        "address" => opt(&c.address),
        "legal_representative" => opt(&c.legal_representative),
        "registered_capital" => c
            .registered_capital_fen
            .map(super::fen_to_yuan)
            .unwrap_or_default(),
        "business_scope" => opt(&c.business_scope),
        "scale" => opt_choice("scales", &c.scale),
        "source" => opt_choice("sources", &c.source),
        "first_contact_date" => date(&c.first_contact_date),
        "cooperation_start_date" => date(&c.cooperation_start_date),
        "owner" => users.get(&c.owner_id).cloned().unwrap_or_default(),
        "tags" => super::split_tags(&c.tags).join(","),
        "notes" => opt(&c.notes),
        "grade" => opt(&c.grade),
        "contact_name" => contact.map(|x| x.name.clone()).unwrap_or_default(),
        "contact_phone" => contact
            .map(|x| {
                x.phones
                    .split(", ")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        if show_phones {
                            p.to_owned()
                        } else {
                            super::model::mask_phone(p)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        "contact_title" => contact.and_then(|x| x.title.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The format of an upload: the `format` parameter, else the content type,
/// else the content (a zip or OLE file is a workbook, anything else CSV).
pub fn upload_format(
    param: Option<&str>,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Format> {
    if let Some(p) = param.map(str::trim).filter(|p| !p.is_empty()) {
        return Format::from_extension(p).ok_or_else(|| {
            Error::from(FieldError::new("format", "customer_io.format_unknown").arg("value", p))
        });
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("text/csv") {
        return Ok(Format::Csv);
    }
    if ct.contains("spreadsheetml") || ct.contains("ms-excel") {
        return Ok(Format::Xlsx);
    }
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(OLE) {
        Ok(Format::Xlsx)
    } else {
        Ok(Format::Csv)
    }
}

/// The format of a download: `xlsx` (default) or `csv`.
pub fn download_format(param: Option<&str>) -> Result<Format> {
    match param.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(Format::Xlsx),
        Some(p) => Format::from_extension(p).ok_or_else(|| {
            Error::from(FieldError::new("format", "customer_io.format_unknown").arg("value", p))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_as_people_write_them() {
        assert_eq!(normalize_date("2026-01-15"), "2026-01-15");
        assert_eq!(normalize_date("2026/1/5"), "2026-01-05");
        assert_eq!(normalize_date("2026.12.31"), "2026-12-31");
        assert_eq!(normalize_date("2026年3月8日"), "2026-03-08");
        assert_eq!(normalize_date("2026-01-15 00:00"), "2026-01-15");
        assert_eq!(normalize_date("15/01/2026"), "15/01/2026");
        assert_eq!(normalize_date("2026-02-30"), "2026-02-30");
    }

    #[test]
    fn choices_are_found_by_code_or_either_name() {
        let policy = crate::policy::Policy::default_policy().customers;
        let choices = Choices::new(&policy);
        assert_eq!(
            choices.code("customer_type", Some("经销商")).as_deref(),
            Some("dealer")
        );
        assert_eq!(
            choices.code("customer_type", Some(" Dealer ")).as_deref(),
            Some("dealer")
        );
        assert_eq!(
            choices.code("customer_type", Some("dealer")).as_deref(),
            Some("dealer")
        );
        assert_eq!(
            choices.code("customer_type", Some("批发商")).as_deref(),
            Some("批发商")
        );
        assert_eq!(choices.code("customer_type", None), None);
    }

    #[test]
    fn every_input_field_has_a_column_and_headers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in export_columns() {
            assert!(seen.insert(c.header_zh), "{}", c.header_zh);
            assert!(seen.insert(c.header_en), "{}", c.header_en);
        }
        for field in [
            "full_name",
            "credit_code",
            "customer_type",
            "contact_phone",
            "owner_id",
        ] {
            let e = row_error(2, field, "x".into(), Lang::Zh);
            assert!(e.column.is_some(), "{field}");
        }
    }

    #[test]
    fn upload_format_from_parameter_type_or_content() {
        assert_eq!(
            upload_format(Some("csv"), None, b"PK").ok(),
            Some(Format::Csv)
        );
        assert_eq!(
            upload_format(None, Some("text/csv; charset=gbk"), b"a,b").ok(),
            Some(Format::Csv)
        );
        assert_eq!(
            upload_format(None, Some("application/octet-stream"), b"PK\x03\x04rest").ok(),
            Some(Format::Xlsx)
        );
        assert_eq!(
            upload_format(
                None,
                Some("application/octet-stream"),
                "客户全称".as_bytes()
            )
            .ok(),
            Some(Format::Csv)
        );
        assert!(upload_format(Some("pdf"), None, b"").is_err());
        assert_eq!(download_format(None).ok(), Some(Format::Xlsx));
    }
}
