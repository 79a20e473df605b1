//! The database URLs: the file a SQLite one names, whether two name the same database, and
//! how one is printed.

use std::path::PathBuf;

/// The file a `sqlite:` URL names.
pub(super) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// The path with its folder's symbolic links and `..` resolved, as far as it exists.
fn canonical(path: PathBuf) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(&path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(path),
        _ => path,
    }
}

pub(super) fn same_database(a: &str, b: &str) -> bool {
    match (sqlite_path(a), sqlite_path(b)) {
        (Some(a), Some(b)) => canonical(a) == canonical(b),
        (None, None) => {
            let norm = |u: &str| {
                u.trim()
                    .trim_end_matches('/')
                    .replacen("postgresql://", "postgres://", 1)
            };
            norm(a) == norm(b)
        }
        _ => false,
    }
}

/// The URL with its password, if any, replaced by `***`, for printing.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme_end + 3;
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..start],
                &authority[..colon],
                &url[start + at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_compared_and_printed_safely() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        assert!(same_database(
            &format!("sqlite://{d}/faultbook.db"),
            &format!("sqlite://{d}/sub/../faultbook.db?mode=rwc")
        ));
        assert!(!same_database(
            &format!("sqlite://{d}/faultbook.db"),
            &format!("sqlite://{d}/copy.db")
        ));
        assert!(same_database(
            "postgres://fb@db/faultbook",
            "postgresql://fb@db/faultbook/"
        ));
        assert!(!same_database(
            "sqlite:///tmp/a.db",
            "postgres://fb@db/faultbook"
        ));
        assert_eq!(
            redact("postgres://fb:s3cret@db.plant:5432/faultbook"),
            "postgres://fb:***@db.plant:5432/faultbook"
        );
        assert_eq!(
            redact("postgres://fb@db/faultbook"),
            "postgres://fb@db/faultbook"
        );
        assert_eq!(redact("sqlite:///var/fb.db"), "sqlite:///var/fb.db");
        assert_eq!(
            sqlite_path("sqlite:///var/fb.db?mode=rwc"),
            Some(PathBuf::from("/var/fb.db"))
        );
    }
}
