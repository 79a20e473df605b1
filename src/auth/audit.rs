//! The audit log: every write, login, failed login, token write and admin action.

use sqlx::Row;

use crate::db::SqlBuilder;

use super::{AuthError, Caller};
use crate::db::Db;
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub role: String,
    pub addr: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl AuditEntry {
    /// The time to the second, in UTC, as the audit page and its CSV show it.
    pub fn at_rfc3339(&self) -> String {
        self.at.datetime().format("%Y-%m-%d %H:%M:%SZ").to_string()
    }
}

/// What an audit entry records; `as_str` is the text stored and filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    SetupAdmin,
    Login,
    LoginFailed,
    Logout,
    LogoutEverywhere,
    PasswordChange,
    UserAdd,
    UserRole,
    UserDisable,
    UserEnable,
    UserPasswd,
    TokenCreate,
    TokenRevoke,
    CaseFile,
    CaseAttach,
    CaseEdit,
    CaseClose,
    CaseReopen,
    /// The filer's own later addition: a new outcome, a note, photos.
    CaseFollowUp,
    /// An image uploaded for guides.
    GuideImageUpload,
    GuideNew,
    GuideSave,
    GuideRestore,
    GuideSuggest,
    /// A suggestion accepted, or a conflicting file text taken.
    GuideAccept,
    /// A suggestion declined, or a conflicting file text set aside.
    GuideDecline,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SetupAdmin => "setup.admin",
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login.failed",
            AuditAction::Logout => "logout",
            AuditAction::LogoutEverywhere => "logout.everywhere",
            AuditAction::PasswordChange => "password.change",
            AuditAction::UserAdd => "user.add",
            AuditAction::UserRole => "user.role",
            AuditAction::UserDisable => "user.disable",
            AuditAction::UserEnable => "user.enable",
            AuditAction::UserPasswd => "user.passwd",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::CaseFile => "case.file",
            AuditAction::CaseAttach => "case.attach",
            AuditAction::CaseEdit => "case.edit",
            AuditAction::CaseClose => "case.close",
            AuditAction::CaseReopen => "case.reopen",
            AuditAction::CaseFollowUp => "case.follow_up",
            AuditAction::GuideImageUpload => "guide.image",
            AuditAction::GuideNew => "guide.new",
            AuditAction::GuideSave => "guide.save",
            AuditAction::GuideRestore => "guide.restore",
            AuditAction::GuideSuggest => "guide.suggest",
            AuditAction::GuideAccept => "guide.accept",
            AuditAction::GuideDecline => "guide.decline",
        }
    }
}

/// One thing that happened, before it is written.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub role: String,
    pub addr: String,
    pub action: AuditAction,
    pub target: String,
    pub detail: String,
}

impl AuditEvent {
    pub fn by(caller: &Caller, action: AuditAction, target: impl Into<String>) -> AuditEvent {
        AuditEvent {
            actor: caller.actor(),
            role: caller
                .role
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            addr: caller.addr.to_string(),
            action,
            target: target.into(),
            detail: String::new(),
        }
    }

    /// An action taken on the server's command line.
    pub fn cli(action: AuditAction, target: impl Into<String>) -> AuditEvent {
        AuditEvent {
            actor: "cli".into(),
            role: "admin".into(),
            addr: String::new(),
            action,
            target: target.into(),
            detail: String::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = detail.into();
        self
    }
}

/// Writes an event. A failure to write the log is logged, and does not undo the action.
pub async fn record(db: &Db, e: AuditEvent) {
    let res = sqlx::query(
        "INSERT INTO audit_log (at, actor, role, addr, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Timestamp::now())
    .bind(&e.actor)
    .bind(&e.role)
    .bind(&e.addr)
    .bind(e.action.as_str())
    .bind(e.target.chars().take(500).collect::<String>())
    .bind(e.detail.chars().take(2000).collect::<String>())
    .execute(db)
    .await;
    if let Err(err) = res {
        tracing::error!(action = e.action.as_str(), actor = %e.actor, "cannot write the audit log: {err}");
    }
}

/// What the audit page lists.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action, or a prefix ending in `.` such as `case.`.
    pub action: Option<String>,
    pub addr: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only case actions (what editors may see).
    pub cases_only: bool,
    /// Entries older than this id (for paging).
    pub before_id: Option<i64>,
    pub limit: u32,
}

pub async fn list(db: &Db, f: &AuditFilter) -> Result<Vec<AuditEntry>, AuthError> {
    let mut q = SqlBuilder::new(
        "SELECT id, at, actor, role, addr, action, target, detail FROM audit_log WHERE 1 = 1",
    );
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND actor = ").push_bind(a.to_string());
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        if a.ends_with('.') {
            q.push(" AND substr(action, 1, CAST(")
                .push_bind(a.len() as i64)
                .push(" AS INTEGER)) = ")
                .push_bind(a.to_string());
        } else {
            q.push(" AND action = ").push_bind(a.to_string());
        }
    }
    if let Some(a) = f.addr.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND addr = ").push_bind(a.to_string());
    }
    if f.cases_only {
        q.push(" AND substr(action, 1, 5) = 'case.'");
    }
    if let Some(t) = f.since {
        q.push(" AND at >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        q.push(" AND at < ").push_bind(t);
    }
    if let Some(id) = f.before_id {
        q.push(" AND id < ").push_bind(id);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(f.limit.clamp(1, 100_000)));
    let rows = q.build()?.fetch_all(db).await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                role: r.try_get("role")?,
                addr: r.try_get("addr")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
