//! Roles, permissions and the signed-in actor: pure rules, no IO.
use serde::{Deserialize, Serialize};

use crate::platform::audit::AuditActor;
use crate::platform::error::{Error, FieldError};

/// The roles of SPEC §0. A user may hold several.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    SalesManager,
    SalesRep,
    CustomerService,
    Quality,
    Warehouse,
    Engineering,
    Finance,
    Executive,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Admin,
        Role::SalesManager,
        Role::SalesRep,
        Role::CustomerService,
        Role::Quality,
        Role::Warehouse,
        Role::Engineering,
        Role::Finance,
        Role::Executive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SalesManager => "sales_manager",
            Role::SalesRep => "sales_rep",
            Role::CustomerService => "customer_service",
            Role::Quality => "quality",
            Role::Warehouse => "warehouse",
            Role::Engineering => "engineering",
            Role::Finance => "finance",
            Role::Executive => "executive",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// The i18n key of the role's display name.
    pub fn label_key(self) -> String {
        format!("role.{}", self.as_str())
    }

    /// What the role may do. Roles are fixed by SPEC §0; what each may do is
    /// code, the numbers they work with are policy.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[ManageUsers, ViewAudit, ManagePolicy],
            Role::Executive => &[ViewAudit],
            _ => &[],
        }
    }
}

/// Parses the stored space-separated role list; unknown names are dropped.
pub fn parse_roles(stored: &str) -> Vec<Role> {
    let mut roles: Vec<Role> = stored.split_whitespace().filter_map(Role::parse).collect();
    roles.sort();
    roles.dedup();
    roles
}

pub fn format_roles(roles: &[Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Validates role names from a form or API call.
pub fn roles_from_names(field: &str, names: &[String]) -> Result<Vec<Role>, FieldError> {
    let mut out = Vec::new();
    for n in names.iter().filter(|n| !n.trim().is_empty()) {
        match Role::parse(n) {
            Some(r) => out.push(r),
            None => return Err(FieldError::new(field, "error.role_unknown").arg("role", n)),
        }
    }
    if out.is_empty() {
        return Err(FieldError::new(field, "error.roles_required"));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Things a role may do beyond working with its own records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Permission {
    /// Users, teams, roles, password resets.
    ManageUsers,
    /// The audit log.
    ViewAudit,
    /// Replace the policy document.
    ManagePolicy,
    /// Export customer lists (Excel/CSV). Not tied to a role in code: the
    /// policy's `customers.export_roles` grants it (SPEC §0 保密).
    ExportCustomers,
}

impl Permission {
    /// The policy's role list that grants this permission, for the
    /// permissions a company decides itself; `None` for those fixed by role.
    pub fn policy_roles(self, policy: &crate::policy::Policy) -> Option<&[String]> {
        match self {
            Permission::ExportCustomers => Some(&policy.customers.export_roles),
            Permission::ManageUsers | Permission::ViewAudit | Permission::ManagePolicy => None,
        }
    }
}

/// A permission as a type, so a route can demand it in its signature; the
/// check then runs before the body is read (403 before any 422).
pub trait PermissionMarker: Send + Sync + 'static {
    const PERMISSION: Permission;
}

pub struct ManageUsers;
impl PermissionMarker for ManageUsers {
    const PERMISSION: Permission = Permission::ManageUsers;
}
pub struct ViewAudit;
impl PermissionMarker for ViewAudit {
    const PERMISSION: Permission = Permission::ViewAudit;
}
pub struct ManagePolicy;
impl PermissionMarker for ManagePolicy {
    const PERMISSION: Permission = Permission::ManagePolicy;
}
pub struct ExportCustomers;
impl PermissionMarker for ExportCustomers {
    const PERMISSION: Permission = Permission::ExportCustomers;
}

/// The signed-in actor, known to hold permission `P`.
pub struct Authorized<P: PermissionMarker>(pub Actor, pub std::marker::PhantomData<P>);

impl<P: PermissionMarker> std::ops::Deref for Authorized<P> {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

/// The signed-in user, as every service function sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub team_id: Option<i64>,
    pub language: String,
    /// The session's CSRF token; `None` for API-token callers (no cookies, no CSRF).
    #[serde(skip)]
    pub csrf_token: Option<String>,
    #[serde(skip)]
    pub session_id: Option<String>,
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether one of the actor's roles is among `names` (a policy's role list).
    pub fn has_any_role(&self, names: &[String]) -> bool {
        self.roles
            .iter()
            .any(|r| names.iter().any(|n| n == r.as_str()))
    }

    /// Whether one of the actor's roles holds `p` in code. Permissions the
    /// policy grants need [`Actor::can_in`].
    pub fn can(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| r.permissions().contains(&p))
    }

    /// Whether the actor holds `p`, by role or by the policy in force.
    pub fn can_in(&self, p: Permission, policy: &crate::policy::Policy) -> bool {
        self.can(p)
            || p.policy_roles(policy)
                .is_some_and(|names| self.has_any_role(names))
    }

    /// Refuses with 403 unless the actor holds the permission.
    pub fn require(&self, p: Permission) -> Result<(), Error> {
        if self.can(p) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Refuses with 403 unless the actor holds the permission, by role or by policy.
    pub fn require_in(&self, p: Permission, policy: &crate::policy::Policy) -> Result<(), Error> {
        if self.can_in(p, policy) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    pub fn audit_actor(&self) -> AuditActor {
        AuditActor {
            id: Some(self.user_id),
            name: self.username.clone(),
        }
    }
}

/// Usernames are login names (often pinyin or an employee number); the
/// display name carries the Chinese name.
pub fn validate_username(field: &str, name: &str) -> Result<(), FieldError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let len = name.chars().count();
    if !(2..=32).contains(&len) || !ok_chars {
        return Err(FieldError::new(field, "error.username_format"));
    }
    Ok(())
}

/// How many seconds late a failed login from an address is answered: not at all while the
/// address has fewer than `limit` failures in the window, then `base` doubling with every
/// failure beyond it, up to `max`.
pub fn address_delay(failures: usize, limit: usize, base: u32, max: u32) -> u32 {
    let Some(beyond) = failures.checked_sub(limit) else {
        return 0;
    };
    let doublings = u32::try_from(beyond).unwrap_or(u32::MAX).min(31);
    base.saturating_mul(1u32 << doublings).min(max)
}

/// The longest password accepted (the strength estimate's time grows with the length).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// What a new password must be: the policy's length and strength score, without the user
/// name in it.
#[derive(Debug, Clone, Copy)]
pub struct PasswordRules {
    pub min_len: usize,
    /// zxcvbn's score, 0–4.
    pub min_score: u8,
}

impl PasswordRules {
    pub fn of(security: &crate::policy::SecurityPolicy) -> PasswordRules {
        PasswordRules {
            min_len: usize::try_from(security.password_min_length).unwrap_or(10),
            min_score: security.password_min_score,
        }
    }
}

/// Checks a new password of `username` against `rules`: long enough, not too long, without
/// the user name (in any case), and as hard to guess as the policy asks by zxcvbn's estimate,
/// which knows common passwords, repeats (`aaaaaaaaaa`), sequences (`1234567890`), keyboard
/// runs and dates.
pub fn validate_password(
    field: &str,
    password: &str,
    username: &str,
    rules: PasswordRules,
) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < rules.min_len {
        return Err(FieldError::new(field, "error.password_too_short").arg("min", rules.min_len));
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(field, "error.too_long").arg("max", PASSWORD_MAX_CHARS));
    }
    let name = username.trim().to_lowercase();
    if !name.is_empty() && password.to_lowercase().contains(&name) {
        return Err(FieldError::new(field, "error.password_has_username"));
    }
    let score = u8::from(zxcvbn::zxcvbn(password, &[username]).score());
    if score < rules.min_score {
        return Err(FieldError::new(field, "error.password_weak")
            .arg("score", score)
            .arg("min", rules.min_score));
    }
    Ok(())
}

pub const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

pub fn validate_language(field: &str, lang: &str) -> Result<(), FieldError> {
    if LANGUAGES.contains(&lang) {
        Ok(())
    } else {
        Err(FieldError::new(field, "error.language_unknown"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: PasswordRules = PasswordRules {
        min_len: 10,
        min_score: 3,
    };

    #[test]
    fn an_address_over_its_limit_is_slowed_down_doubling_to_the_maximum() {
        assert_eq!(address_delay(0, 20, 2, 30), 0);
        assert_eq!(address_delay(19, 20, 2, 30), 0);
        assert_eq!(address_delay(20, 20, 2, 30), 2);
        assert_eq!(address_delay(21, 20, 2, 30), 4);
        assert_eq!(address_delay(23, 20, 2, 30), 16);
        assert_eq!(address_delay(24, 20, 2, 30), 30);
        assert_eq!(address_delay(10_000, 20, 2, 30), 30);
    }

    #[test]
    fn weak_passwords_are_refused_with_their_reason() {
        let key = |p: &str, user: &str| {
            validate_password("password", p, user, RULES)
                .err()
                .map(|e| e.key)
        };
        for weak in [
            "aaaaaaaaaa",
            "1234567890",
            "            ",
            "password123",
            "qwertyuiop",
        ] {
            assert_eq!(
                key(weak, "zhangsan").as_deref(),
                Some("error.password_weak"),
                "{weak}"
            );
        }
        assert_eq!(
            key("Zhangsan-7Qv!walnut", "zhangsan").as_deref(),
            Some("error.password_has_username")
        );
        assert_eq!(
            key("short", "zhangsan").as_deref(),
            Some("error.password_too_short")
        );
        assert_eq!(
            key(&"Kq7!".repeat(40), "zhangsan").as_deref(),
            Some("error.too_long")
        );
        assert_eq!(key("violet-harbor-73-quilt", "zhangsan"), None);
        // The score asked for is policy.
        let lenient = PasswordRules {
            min_score: 0,
            ..RULES
        };
        assert!(validate_password("password", "aaaaaaaaaa", "zhangsan", lenient).is_ok());
    }

    #[test]
    fn roles_round_trip_and_unknown_names_are_refused() {
        let roles =
            roles_from_names("roles", &["sales_rep".into(), "admin".into()]).expect("valid");
        assert_eq!(format_roles(&roles), "admin sales_rep");
        assert_eq!(parse_roles("admin sales_rep bogus"), roles);
        let err = roles_from_names("roles", &["boss".into()]).expect_err("unknown");
        assert_eq!(err.field, "roles");
        assert!(roles_from_names("roles", &[]).is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(validate_username("u", "zhang.san-01").is_ok());
        assert!(validate_username("u", "张三").is_err());
        assert!(validate_username("u", "a").is_err());
        assert!(validate_password("p", "short", "u1", RULES).is_err());
        assert!(validate_password("p", "long enough: 7 quiet owls", "u1", RULES).is_ok());
    }

    #[test]
    fn only_admin_manages_users() {
        for r in Role::ALL {
            assert_eq!(
                r.permissions().contains(&Permission::ManageUsers),
                r == Role::Admin
            );
        }
    }
}
