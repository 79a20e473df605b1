//! Password hashing (argon2id) and the password rules.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::AuthError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits, so building them cannot fail.
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on blocking threads, at most `permits` at a time: a login flood queues here instead of
/// taking every core from search.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(permits: usize) -> PasswordHasher {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = password.to_owned();
        self.on_hashing_thread(move || hash_blocking(&password))
            .await?
    }

    /// Checks a password against a stored hash. With no hash (an unknown user) it still spends
    /// the same time, so the answer's timing does not say which names exist.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, AuthError> {
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.on_hashing_thread(move || match stored.as_deref() {
            Some(h) if !h.is_empty() => verify_blocking(&password, h),
            _ => {
                let _ = verify_blocking(&password, dummy_hash());
                false
            }
        })
        .await
    }

    /// Runs argon2 work on a blocking thread once a permit is free, so logins never take the
    /// async threads or more cores than the permits allow.
    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))
    }
}

pub fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("an unknown user never matches this").unwrap_or_default())
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// The password rules, as a sentence the person can act on.
pub fn check_strength(password: &str, user_name: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!(
            "The password must be at least {MIN_LENGTH} characters long (this one has {chars}). A few unrelated words make a long password that is easy to type on a phone."
        ));
    }
    if password.len() > MAX_LENGTH {
        return Err(format!("The password must be at most {MAX_LENGTH} bytes."));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err(
            "That password is on the list of commonly used passwords; choose another.".into(),
        );
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return Err("The password must not be one character repeated.".into());
    }
    let name = user_name.trim().to_lowercase();
    if !name.is_empty() && lower.contains(&name) && name.chars().count() * 2 >= chars {
        return Err("The password must not be mostly the user name.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_refuse_short_common_and_repeated_passwords() {
        assert!(check_strength("short", "ana")
            .unwrap_err()
            .contains("at least 12"));
        assert!(check_strength("aaaaaaaaaaaaaaa", "ana").is_err());
        assert!(check_strength("ana.ana.ana.1", "ana.ana.ana").is_err());
        assert!(check_strength("cabinet lamp orange 42", "ana").is_ok());
        // A list entry is refused whatever its case.
        let listed = common_passwords()
            .iter()
            .find(|p| p.chars().count() >= MIN_LENGTH)
            .expect("the shipped list has entries of 12 characters or more");
        assert!(check_strength(&listed.to_uppercase(), "ana")
            .unwrap_err()
            .contains("commonly used"));
    }

    #[test]
    fn hashes_are_argon2id_at_owasp_minimum_and_verify() {
        let h = hash_blocking("cabinet lamp orange 42").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("cabinet lamp orange 42", &h));
        assert!(!verify_blocking("cabinet lamp orange 43", &h));
        assert!(!verify_blocking("anything", "not a hash"));
    }
}
