//! Accounts and access: roles and the policy of who may do what, passwords, sessions, bearer
//! tokens, the first-run setup link, rate limits and the audit log. Knows nothing of HTTP.

pub mod audit;
mod caller;
pub mod net;
pub mod password;
pub mod ratelimit;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

pub use caller::{Caller, Identity, SessionRef};

use audit::{AuditAction, AuditEvent};
use net::IpNet;
use password::PasswordHasher;
use ratelimit::{LoginThrottle, RateDecision, WindowLimiter};
use store::{NewSession, SessionTimeouts, User};

use crate::db::Db;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("`{0}` is not a valid name: use 1 to 64 letters, digits, `.`, `-`, `_` or `@`")]
    BadName(String),
    #[error("the name `{0}` is already taken")]
    NameTaken(String),
    #[error("there is no user `{0}`")]
    NoSuchUser(String),
    #[error("there is no live token `{0}`")]
    NoSuchToken(String),
    #[error("`{0}` is not a role; choose viewer, tech, editor or admin")]
    BadRole(String),
    #[error("the last enabled admin cannot be disabled or lose the admin role")]
    LastAdmin,
}

/// What an account may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Tech,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Tech, Role::Editor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "tech" => Some(Role::Tech),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Tech => "tech",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "reads guides and cases",
            Role::Tech => "also files cases",
            Role::Editor => "also edits and closes cases, sees the case audit log",
            Role::Admin => "also manages users, tokens and the whole audit log",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| AuthError::BadRole(s.to_string()))
    }
}

/// Things a request may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadGuides,
    ReadCases,
    FileCases,
    EditCases,
    /// The audit log of case actions.
    CaseAudit,
    /// Writing guides in the browser: edit, new, restore, accept or decline a suggestion.
    EditGuides,
    /// Proposing a change to a guide that an editor then accepts or declines.
    SuggestGuides,
    Admin,
    /// Any logged-in person (the account page).
    Account,
}

/// The site's access settings.
#[derive(Debug, Clone)]
pub struct Policy {
    pub guides_public: bool,
    pub cases_public: bool,
    /// Networks whose machines may file cases without logging in.
    pub open_intake: Vec<IpNet>,
}

impl Policy {
    pub fn allows(&self, caller: &Caller, p: Permission) -> bool {
        let role = caller.role;
        match p {
            Permission::ReadGuides => self.guides_public || role.is_some(),
            Permission::ReadCases => self.cases_public || role.is_some(),
            Permission::FileCases => {
                role >= Some(Role::Tech) || net::any_contains(&self.open_intake, caller.addr)
            }
            Permission::EditCases | Permission::CaseAudit | Permission::EditGuides => {
                role >= Some(Role::Editor)
            }
            Permission::SuggestGuides => role >= Some(Role::Tech),
            Permission::Admin => role == Some(Role::Admin),
            Permission::Account => role.is_some(),
        }
    }
}

/// How a login attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    LoggedIn(User, NewSession),
    /// Wrong name or password (which one is not said).
    Refused,
    /// Too many failures: wait.
    Limited(RateDecision),
}

/// How a change of one's own password ended.
#[derive(Debug)]
pub enum PasswordChange {
    Changed,
    /// The current password was not right.
    WrongCurrent,
    /// Too many wrong guesses: wait.
    Limited(RateDecision),
}

/// Accounts: logins, sessions, tokens, the setup link, users; every change is audited.
#[derive(Clone)]
pub struct AuthService {
    pub db: Db,
    pub policy: Arc<Policy>,
    pub hasher: PasswordHasher,
    pub timeouts: SessionTimeouts,
    guesses: Arc<LoginThrottle>,
    pub writes: Arc<WindowLimiter>,
    /// Key for proxy users' form tokens, kept in the database so that open forms survive a
    /// restart.
    proxy_secret: Arc<String>,
}

pub const SETUP_VALID: Duration = Duration::from_secs(60 * 60);

impl AuthService {
    pub async fn new(
        db: Db,
        policy: Policy,
        timeouts: SessionTimeouts,
        writes_per_minute: u32,
    ) -> Result<AuthService, AuthError> {
        let proxy_secret = store::server_secret(&db, "proxy-csrf").await?;
        Ok(AuthService {
            db,
            policy: Arc::new(policy),
            // One hash at a time: on a small server the other cores stay free for search.
            hasher: PasswordHasher::new(1),
            timeouts,
            guesses: Arc::new(LoginThrottle::new()),
            writes: Arc::new(WindowLimiter::per_minute(writes_per_minute)),
            proxy_secret: Arc::new(proxy_secret),
        })
    }

    pub fn allows(&self, caller: &Caller, p: Permission) -> bool {
        self.policy.allows(caller, p)
    }

    pub fn proxy_csrf(&self, name: &str) -> String {
        store::sha256_hex(&format!("{}:{name}", self.proxy_secret))
    }

    // ---------- first run ----------

    /// With no enabled admin, makes a new one-hour setup secret and returns it. The link lives
    /// in the database, so that it works on every app node; on PostgreSQL only the node that
    /// starts first makes one (`None` on the others), while a single SQLite server makes a new
    /// one at every start, as the console it printed the last one to may be gone.
    pub async fn offer_setup(&self) -> Result<Option<String>, AuthError> {
        if store::admin_exists(&self.db).await? {
            return Ok(None);
        }
        let secret = store::random_hex(24);
        let link = store::SetupLink {
            secret: secret.clone(),
            expires: Timestamp::now().plus_secs(SETUP_VALID.as_secs() as i64),
        };
        let replace = crate::db::Backend::of(&self.db) == crate::db::Backend::Sqlite;
        Ok(store::offer_setup_link(&self.db, &link, replace)
            .await?
            .then_some(secret))
    }

    /// Is this the live setup secret?
    pub async fn setup_valid(&self, secret: &str) -> bool {
        matches!(store::setup_link(&self.db).await, Ok(Some(l)) if l.opens(secret))
    }

    /// Takes the live setup secret if it is this one, so that no other request, on this node
    /// or another, can use it.
    async fn claim_setup(&self, secret: &str) -> Result<Option<store::SetupLink>, AuthError> {
        match store::setup_link(&self.db).await? {
            Some(l) if l.opens(secret) => {
                Ok(store::take_setup_link(&self.db, &l).await?.then_some(l))
            }
            _ => Ok(None),
        }
    }

    /// Creates the first admin through the setup link, which then stops working.
    pub async fn complete_setup(
        &self,
        secret: &str,
        name: &str,
        password: &str,
        caller: &Caller,
        user_agent: &str,
    ) -> Result<Option<(User, NewSession)>, AuthError> {
        // Claimed first: of requests racing on one link, one deletes it and goes on, and the
        // others find no link. A refused name or password gives the link back.
        let Some(claimed) = self.claim_setup(secret).await? else {
            return Ok(None);
        };
        let mut event = AuditEvent::by(caller, AuditAction::SetupAdmin, name.trim());
        event.actor = "setup-link".into();
        let added = match store::admin_exists(&self.db).await {
            Ok(false) => {
                self.add_user_audited(name, Role::Admin, password, event)
                    .await
            }
            Ok(true) => return Ok(None),
            Err(e) => Err(e),
        };
        let user = match added {
            Ok(user) => user,
            Err(e) => {
                store::offer_setup_link(&self.db, &claimed, false).await?;
                return Err(e);
            }
        };
        let session =
            store::create_session(&self.db, &user, &caller.addr.to_string(), user_agent).await?;
        Ok(Some((user, session)))
    }

    // ---------- logins ----------

    pub async fn login(
        &self,
        name: &str,
        password: &str,
        caller: &Caller,
        user_agent: &str,
    ) -> Result<LoginOutcome, AuthError> {
        let attempt = match self.guesses.reserve(name, caller.addr) {
            Ok(attempt) => attempt,
            Err(wait) => {
                crate::telemetry::prometheus::login_refused("throttled");
                return Ok(LoginOutcome::Limited(wait));
            }
        };
        let addr_key = caller.addr.to_string();
        let user = store::find_user(&self.db, name.trim()).await?;
        let usable = user.as_ref().filter(|u| !u.disabled);
        let ok = self
            .hasher
            .verify(password, usable.map(|u| u.password_hash.as_str()))
            .await?;
        match (ok, usable) {
            (true, Some(user)) => {
                attempt.succeeded();
                let session = store::create_session(&self.db, user, &addr_key, user_agent).await?;
                let as_user = Caller {
                    identity: Identity::User {
                        id: user.id.clone(),
                        name: user.name.clone(),
                    },
                    role: Some(user.role),
                    ..caller.clone()
                };
                audit::record(
                    &self.db,
                    AuditEvent::by(&as_user, AuditAction::Login, &user.name),
                )
                .await;
                Ok(LoginOutcome::LoggedIn(user.clone(), session))
            }
            _ => {
                let detail = if user.is_none() {
                    "no such user"
                } else if usable.is_none() {
                    "account disabled"
                } else {
                    "wrong password"
                };
                crate::telemetry::prometheus::login_refused(if usable.is_some() {
                    "wrong_password"
                } else {
                    "unknown_or_disabled"
                });
                audit::record(
                    &self.db,
                    AuditEvent::by(
                        caller,
                        AuditAction::LoginFailed,
                        self.loggable_name(name, &user),
                    )
                    .detail(detail),
                )
                .await;
                Ok(LoginOutcome::Refused)
            }
        }
    }

    pub async fn logout(&self, caller: &Caller) -> Result<(), AuthError> {
        if let Some(session) = &caller.session {
            store::delete_session(&self.db, &session.id_hash).await?;
            audit::record(
                &self.db,
                AuditEvent::by(caller, AuditAction::Logout, caller.actor()),
            )
            .await;
        }
        Ok(())
    }

    /// Ends every session of the caller's account, this one included.
    pub async fn logout_everywhere(&self, caller: &Caller) -> Result<u64, AuthError> {
        let Identity::User { id, .. } = &caller.identity else {
            return Ok(0);
        };
        let n = store::delete_user_sessions(&self.db, id).await?;
        audit::record(
            &self.db,
            AuditEvent::by(caller, AuditAction::LogoutEverywhere, caller.actor())
                .detail(format!("{n} sessions ended")),
        )
        .await;
        Ok(n)
    }

    /// The name a failed login is recorded under: an account's own name, or for a name no
    /// account has (often a password typed into the wrong field) a keyed hash that tells
    /// repeated tries apart without revealing what was typed.
    fn loggable_name(&self, typed: &str, account: &Option<User>) -> String {
        match account {
            Some(user) => user.name.clone(),
            None => {
                let keyed = store::sha256_hex(&format!("login-name:{}:{typed}", self.proxy_secret));
                format!("unknown user (sha256 {})", &keyed[..12])
            }
        }
    }

    /// Changes the caller's own password after checking the current one, which is throttled
    /// like a login.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
    ) -> Result<PasswordChange, AuthError> {
        let Some(name) = caller.display_name() else {
            return Ok(PasswordChange::WrongCurrent);
        };
        let Some(user) = store::find_user(&self.db, name).await? else {
            return Ok(PasswordChange::WrongCurrent);
        };
        let attempt = match self.guesses.reserve(&user.name, caller.addr) {
            Ok(attempt) => attempt,
            Err(wait) => return Ok(PasswordChange::Limited(wait)),
        };
        if !self
            .hasher
            .verify(current, Some(&user.password_hash))
            .await?
        {
            return Ok(PasswordChange::WrongCurrent);
        }
        attempt.succeeded();
        password::check_strength(new, &user.name).map_err(AuthError::WeakPassword)?;
        let hash = self.hasher.hash(new).await?;
        store::set_password(&self.db, &user, &hash).await?;
        audit::record(
            &self.db,
            AuditEvent::by(caller, AuditAction::PasswordChange, &user.name),
        )
        .await;
        Ok(PasswordChange::Changed)
    }

    // ---------- users and tokens (admin page and command line) ----------

    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        by: &Caller,
    ) -> Result<User, AuthError> {
        self.add_user_audited(
            name,
            role,
            password,
            AuditEvent::by(by, AuditAction::UserAdd, name),
        )
        .await
    }

    pub async fn add_user_audited(
        &self,
        name: &str,
        role: Role,
        password: &str,
        event: AuditEvent,
    ) -> Result<User, AuthError> {
        let name = name.trim();
        if !store::valid_name(name) {
            return Err(AuthError::BadName(name.to_string()));
        }
        if store::find_user(&self.db, name).await?.is_some() {
            return Err(AuthError::NameTaken(name.to_string()));
        }
        password::check_strength(password, name).map_err(AuthError::WeakPassword)?;
        let hash = self.hasher.hash(password).await?;
        let user = store::add_user(&self.db, name, role, &hash).await?;
        audit::record(&self.db, event.detail(format!("role {}", role.as_str()))).await;
        Ok(user)
    }

    async fn user(&self, name: &str) -> Result<User, AuthError> {
        store::find_user(&self.db, name.trim())
            .await?
            .ok_or_else(|| AuthError::NoSuchUser(name.to_string()))
    }

    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        event: AuditEvent,
    ) -> Result<(), AuthError> {
        let user = self.user(name).await?;
        password::check_strength(password, &user.name).map_err(AuthError::WeakPassword)?;
        let hash = self.hasher.hash(password).await?;
        store::set_password(&self.db, &user, &hash).await?;
        audit::record(&self.db, event.detail("password reset; sessions ended")).await;
        Ok(())
    }

    async fn is_last_admin(&self, user: &User) -> Result<bool, AuthError> {
        if user.role != Role::Admin || user.disabled {
            return Ok(false);
        }
        let admins = store::list_users(&self.db)
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .count();
        Ok(admins <= 1)
    }

    pub async fn set_role(
        &self,
        name: &str,
        role: Role,
        event: AuditEvent,
    ) -> Result<(), AuthError> {
        let user = self.user(name).await?;
        if role != Role::Admin && self.is_last_admin(&user).await? {
            return Err(AuthError::LastAdmin);
        }
        store::set_role(&self.db, &user, role).await?;
        audit::record(
            &self.db,
            event.detail(format!("{} -> {}", user.role.as_str(), role.as_str())),
        )
        .await;
        Ok(())
    }

    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        event: AuditEvent,
    ) -> Result<(), AuthError> {
        let user = self.user(name).await?;
        if disabled && self.is_last_admin(&user).await? {
            return Err(AuthError::LastAdmin);
        }
        store::set_disabled(&self.db, &user, disabled).await?;
        audit::record(&self.db, event).await;
        Ok(())
    }

    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        event: AuditEvent,
    ) -> Result<(store::ApiToken, String), AuthError> {
        let by = event.actor.clone();
        let created = store::create_token(&self.db, name.trim(), role, &by).await?;
        audit::record(&self.db, event.detail(format!("role {}", role.as_str()))).await;
        Ok(created)
    }

    pub async fn revoke_token(&self, name: &str, event: AuditEvent) -> Result<(), AuthError> {
        if !store::revoke_token(&self.db, name.trim()).await? {
            return Err(AuthError::NoSuchToken(name.to_string()));
        }
        audit::record(&self.db, event).await;
        Ok(())
    }
}
