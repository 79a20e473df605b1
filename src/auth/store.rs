//! SQL for users, sessions and bearer tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::{AuthError, Role};
use crate::db::Db;
use crate::time::Timestamp;

/// A random secret as hex, from the operating system's generator.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A named random secret, made on first use and kept in the database from then on.
pub async fn server_secret(db: &Db, name: &str) -> Result<String, AuthError> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(random_hex(32))
    .execute(db)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(db)
            .await?,
    )
}

/// The first-run link: its secret and when it stops working. Kept as `SECRET EXPIRES` in
/// `server_secrets`, so that every node knows it and one claim ends it everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    pub secret: String,
    pub expires: Timestamp,
}

const SETUP_LINK: &str = "setup-link";

impl SetupLink {
    fn stored(&self) -> String {
        format!("{} {}", self.secret, self.expires.to_db())
    }

    fn parse(s: &str) -> Option<SetupLink> {
        let (secret, expires) = s.split_once(' ')?;
        Some(SetupLink {
            secret: secret.to_string(),
            expires: Timestamp::parse(expires)?,
        })
    }

    pub fn opens(&self, secret: &str) -> bool {
        Timestamp::now() < self.expires && same_secret(&self.secret, secret)
    }
}

/// Stores a new setup link; false when a live one exists and `replace` is not set.
pub async fn offer_setup_link(db: &Db, link: &SetupLink, replace: bool) -> Result<bool, AuthError> {
    let inserted = sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(SETUP_LINK)
    .bind(link.stored())
    .execute(db)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(true);
    }
    let Some(current) =
        sqlx::query_scalar::<_, String>("SELECT value FROM server_secrets WHERE name = $1")
            .bind(SETUP_LINK)
            .fetch_optional(db)
            .await?
    else {
        return Ok(false);
    };
    let live = SetupLink::parse(&current).is_some_and(|l| Timestamp::now() < l.expires);
    if live && !replace {
        return Ok(false);
    }
    // Replaces exactly the link read, so of two nodes replacing an expired one, one wins.
    Ok(
        sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2 AND value = $3")
            .bind(link.stored())
            .bind(SETUP_LINK)
            .bind(&current)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn setup_link(db: &Db) -> Result<Option<SetupLink>, AuthError> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(SETUP_LINK)
            .fetch_optional(db)
            .await?;
    Ok(value.as_deref().and_then(SetupLink::parse))
}

/// Deletes this link; false when another request took it first.
pub async fn take_setup_link(db: &Db, link: &SetupLink) -> Result<bool, AuthError> {
    Ok(
        sqlx::query("DELETE FROM server_secrets WHERE name = $1 AND value = $2")
            .bind(SETUP_LINK)
            .bind(link.stored())
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub password_hash: String,
}

fn user_from_row(r: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
        password_hash: r.try_get("password_hash")?,
    })
}

const USER_COLUMNS: &str = "id, name, role, disabled, created_at, password_hash";

/// A user name: 1 to 64 letters, digits, `.`, `-`, `_` or `@`, so it is safe in logs and URLs.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

pub async fn add_user(db: &Db, name: &str, role: Role, hash: &str) -> Result<User, AuthError> {
    if !valid_name(name) {
        return Err(AuthError::BadName(name.to_string()));
    }
    let now = Timestamp::now();
    let id = Uuid::now_v7().to_string();
    let res = sqlx::query(
        "INSERT INTO users (id, name, role, password_hash, disabled, created_at, password_set_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(&id)
    .bind(name)
    .bind(role.as_str())
    .bind(hash)
    .bind(now)
    .bind(now)
    .execute(db)
    .await;
    match res {
        Ok(_) => Ok(User {
            id,
            name: name.to_string(),
            role,
            disabled: false,
            created_at: now,
            password_hash: hash.to_string(),
        }),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AuthError::NameTaken(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn find_user(db: &Db, name: &str) -> Result<Option<User>, AuthError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(name) = lower($1)"
    ))
    .bind(name)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, AuthError> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY lower(name), name"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
}

/// Is there an enabled admin? Without one the server offers the first-run setup link.
pub async fn admin_exists(db: &Db) -> Result<bool, AuthError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(db)
            .await?;
    Ok(n > 0)
}

/// A new password ends every session of the user.
pub async fn set_password(db: &Db, user: &User, hash: &str) -> Result<(), AuthError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_set_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(Timestamp::now())
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_role(db: &Db, user: &User, role: Role) -> Result<(), AuthError> {
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(&user.id)
        .execute(db)
        .await?;
    Ok(())
}

/// Disabling ends every session at once; enabling lets the person log in again.
pub async fn set_disabled(db: &Db, user: &User, disabled: bool) -> Result<(), AuthError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

// ---------- sessions ----------

/// The session a browser was just given: the cookie value (shown once) and its form token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

/// How long a session lives: since its last use, and since login at most.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimeouts {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id_hash: String,
    pub csrf_token: String,
    pub user: User,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub id_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub addr: String,
    pub user_agent: String,
}

pub async fn create_session(
    db: &Db,
    user: &User,
    addr: &str,
    user_agent: &str,
) -> Result<NewSession, AuthError> {
    let cookie_value = random_hex(32);
    let csrf_token = random_hex(32);
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, addr, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sha256_hex(&cookie_value))
    .bind(&user.id)
    .bind(&csrf_token)
    .bind(now)
    .bind(now)
    .bind(addr)
    .bind(user_agent.chars().take(200).collect::<String>())
    .execute(db)
    .await?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
    })
}

/// The live session behind a cookie value. An expired session is deleted and gives `None`, as
/// does a disabled user. Use is recorded at most once a minute to spare the disk.
pub async fn live_session(
    db: &Db,
    cookie_value: &str,
    timeouts: SessionTimeouts,
) -> Result<Option<LiveSession>, AuthError> {
    if cookie_value.len() != 64 || !cookie_value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let id_hash = sha256_hex(cookie_value);
    let row = sqlx::query(
        "SELECT s.csrf_token, s.created_at AS s_created, s.last_seen_at, \
         u.id, u.name, u.role, u.disabled, u.created_at, u.password_hash \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
    )
    .bind(&id_hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = user_from_row(&row)?;
    let created_at: Timestamp = row.try_get("s_created")?;
    let last_seen_at: Timestamp = row.try_get("last_seen_at")?;
    let now = Timestamp::now();
    let idle = now.unix() - last_seen_at.unix();
    if user.disabled
        || idle > timeouts.idle_secs
        || now.unix() - created_at.unix() > timeouts.absolute_secs
    {
        delete_session(db, &id_hash).await?;
        return Ok(None);
    }
    if idle >= 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash)
            .execute(db)
            .await?;
    }
    Ok(Some(LiveSession {
        id_hash,
        csrf_token: row.try_get("csrf_token")?,
        user,
        created_at,
        last_seen_at,
    }))
}

pub async fn delete_session(db: &Db, id_hash: &str) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_user_sessions(db: &Db, user_id: &str) -> Result<u64, AuthError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected())
}

pub async fn user_sessions(db: &Db, user_id: &str) -> Result<Vec<SessionSummary>, AuthError> {
    let rows = sqlx::query(
        "SELECT id_hash, created_at, last_seen_at, addr, user_agent FROM sessions \
         WHERE user_id = $1 ORDER BY last_seen_at DESC",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionSummary {
                id_hash: r.try_get("id_hash")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                addr: r.try_get("addr")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Test support: moves every session's clock back, as if it had been idle that long.
pub async fn age_sessions(db: &Db, secs: i64) -> Result<(), AuthError> {
    let rows = sqlx::query("SELECT id_hash, created_at, last_seen_at FROM sessions")
        .fetch_all(db)
        .await?;
    for r in rows {
        let created: Timestamp = r.try_get("created_at")?;
        let seen: Timestamp = r.try_get("last_seen_at")?;
        sqlx::query("UPDATE sessions SET created_at = $1, last_seen_at = $2 WHERE id_hash = $3")
            .bind(created.plus_secs(-secs))
            .bind(seen.plus_secs(-secs))
            .bind(r.try_get::<String, _>("id_hash")?)
            .execute(db)
            .await?;
    }
    Ok(())
}

// ---------- bearer tokens ----------

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub created_by: String,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

fn token_from_row(r: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, created_at, created_by, last_used_at, revoked_at";

/// Bearer tokens start with this, so a leaked one is easy to grep for.
pub const TOKEN_PREFIX: &str = "fbt_";

/// Creates a token and returns it with its secret, which is never stored or shown again.
pub async fn create_token(
    db: &Db,
    name: &str,
    role: Role,
    created_by: &str,
) -> Result<(ApiToken, String), AuthError> {
    if !valid_name(name) {
        return Err(AuthError::BadName(name.to_string()));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_hex(32));
    let token = ApiToken {
        id: Uuid::now_v7().to_string(),
        name: name.to_string(),
        role,
        created_at: Timestamp::now(),
        created_by: created_by.to_string(),
        last_used_at: None,
        revoked_at: None,
    };
    let res = sqlx::query(
        "INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.id)
    .bind(name)
    .bind(role.as_str())
    .bind(sha256_hex(&secret))
    .bind(token.created_at)
    .bind(created_by)
    .execute(db)
    .await;
    match res {
        Ok(_) => Ok((token, secret)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AuthError::NameTaken(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The live token with this secret; use is recorded at most once a minute.
pub async fn token_by_secret(db: &Db, secret: &str) -> Result<Option<ApiToken>, AuthError> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(sha256_hex(secret))
    .fetch_optional(db)
    .await?;
    let Some(token) = row.as_ref().map(token_from_row).transpose()? else {
        return Ok(None);
    };
    let now = Timestamp::now();
    if token
        .last_used_at
        .is_none_or(|t| now.unix() - t.unix() >= 60)
    {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&token.id)
            .execute(db)
            .await?;
    }
    Ok(Some(token))
}

pub async fn list_tokens(db: &Db) -> Result<Vec<ApiToken>, AuthError> {
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, lower(name), name"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
}

/// Revokes the live token with this name; false when there is none.
pub async fn revoke_token(db: &Db, name: &str) -> Result<bool, AuthError> {
    Ok(
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(Timestamp::now())
            .bind(name)
            .execute(db)
            .await?
            .rows_affected()
            > 0,
    )
}
