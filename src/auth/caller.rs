//! The caller of one request, as the web layer established it: who, with which role, from
//! where, and the form token their writes must carry.

use std::net::IpAddr;

use super::{store, Role};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User {
        id: String,
        name: String,
    },
    Token {
        name: String,
    },
    /// A person named by a trusted single-sign-on proxy.
    Proxy {
        name: String,
    },
}

/// The session behind a request: its id's hash (what the database keys it by) and its form
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub id_hash: String,
    pub csrf_token: String,
}

/// The person or script behind one request, as the web layer established it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    pub role: Option<Role>,
    /// The client's address (behind a trusted proxy, the one it forwarded).
    pub addr: IpAddr,
    /// The session, when a session cookie authenticated the request.
    pub session: Option<SessionRef>,
    /// The form token for proxy-authenticated people, who have no session.
    pub proxy_csrf: Option<String>,
}

impl Caller {
    pub fn anonymous(addr: IpAddr) -> Caller {
        Caller {
            identity: Identity::Anonymous,
            role: None,
            addr,
            session: None,
            proxy_csrf: None,
        }
    }

    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match &self.identity {
            Identity::Anonymous => "anonymous".into(),
            Identity::User { name, .. } => name.clone(),
            Identity::Token { name } => format!("token:{name}"),
            Identity::Proxy { name } => format!("proxy:{name}"),
        }
    }

    /// The name shown on the page ("Signed in as …"), if any.
    pub fn display_name(&self) -> Option<&str> {
        match &self.identity {
            Identity::Anonymous => None,
            Identity::User { name, .. } | Identity::Token { name } | Identity::Proxy { name } => {
                Some(name)
            }
        }
    }

    /// The token every state-changing form of this caller must carry ("" when none need).
    pub fn csrf_token(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .or(self.proxy_csrf.as_deref())
            .unwrap_or("")
    }

    /// Must this caller's writes carry the form token? Browsers logged in by a cookie or a
    /// proxy must; bearer tokens and the anonymous send no cookie another site could ride on.
    pub fn needs_csrf(&self) -> bool {
        !self.csrf_token().is_empty()
    }

    /// Is this the caller's form token? Compared in constant time.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        self.needs_csrf() && store::same_secret(submitted.trim(), self.csrf_token())
    }

    /// Whose write budget a permitted write spends: a token's own, else its address's.
    pub fn write_key(&self) -> String {
        match &self.identity {
            Identity::Token { name } => format!("token:{name}"),
            _ => format!("addr:{}", self.addr),
        }
    }
}
