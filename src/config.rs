//! Typed configuration from flags and environment variables.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser};

use crate::auth::net::{parse_net, IpNet};
use crate::auth::Role;

/// Settings every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "FAULTBOOK_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: SocketAddr,
    /// Folder for the database, the search index and photos; created on first start.
    #[arg(long, env = "FAULTBOOK_DATA", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Folder holding the guides, one sub-folder per platform.
    #[arg(
        long,
        env = "FAULTBOOK_CONTENT",
        default_value = "content",
        global = true
    )]
    pub content_dir: PathBuf,
    /// Folder for case photos (default: <data-dir>/photos).
    #[arg(long, env = "FAULTBOOK_PHOTOS", global = true)]
    pub photo_dir: Option<PathBuf>,
    /// Public base URL behind a reverse proxy, e.g. https://faultbook.plant.example; used for
    /// absolute links (copied links, QR codes, feeds, canonical tags).
    #[arg(long, env = "FAULTBOOK_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Host names this server answers to (comma-separated); a request naming another host in
    /// Host or Origin is refused. Default: the loopback names and the --base-url host, or
    /// without one also this machine's host name and addresses and the --addr host.
    #[arg(
        long,
        env = "FAULTBOOK_ALLOWED_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_hosts: Vec<String>,
    /// Sites allowed to frame guides with ?embed=1 (comma-separated origins, e.g. a wiki).
    #[arg(
        long,
        env = "FAULTBOOK_EMBED_ALLOW",
        value_delimiter = ',',
        global = true
    )]
    pub embed_allow: Vec<String>,
    /// Database URL (default: sqlite://<data-dir>/faultbook.db).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Import guide files that change under the content folder while the server runs (a `git
    /// pull` included); false: only at start.
    #[arg(long, env = "FAULTBOOK_WATCH_CONTENT", default_value_t = true, action = ArgAction::Set, global = true)]
    pub watch_content: bool,
    /// Anyone who reaches the server may read guides (true), or only people who log in (false).
    #[arg(long, env = "FAULTBOOK_GUIDES_PUBLIC", default_value_t = true, action = ArgAction::Set, global = true)]
    pub guides_public: bool,
    /// Anyone who reaches the server may read cases (false: only people who log in).
    #[arg(long, env = "FAULTBOOK_CASES_PUBLIC", default_value_t = false, action = ArgAction::Set, global = true)]
    pub cases_public: bool,
    /// Networks (CIDR, comma-separated) whose machines may file cases without logging in, e.g.
    /// shared floor tablets; each case records the address it came from. Off when empty.
    #[arg(
        long,
        env = "FAULTBOOK_OPEN_INTAKE",
        value_delimiter = ',',
        value_parser = parse_net,
        global = true
    )]
    pub open_intake: Vec<IpNet>,
    /// Header naming the logged-in user, set by a single-sign-on proxy (e.g. X-Remote-User);
    /// honoured only from --trusted-proxy addresses.
    #[arg(long, env = "FAULTBOOK_TRUST_PROXY_HEADER", global = true)]
    pub trust_proxy_header: Option<String>,
    /// Header listing the proxy user's groups (comma- or space-separated), e.g. X-Remote-Groups.
    #[arg(long, env = "FAULTBOOK_PROXY_GROUPS_HEADER", global = true)]
    pub proxy_groups_header: Option<String>,
    /// Group-to-role mapping for proxy users, e.g. scada-admins=admin,controls=editor,floor=tech;
    /// the highest role wins.
    #[arg(
        long,
        env = "FAULTBOOK_PROXY_ROLES",
        value_delimiter = ',',
        value_parser = parse_group_role,
        global = true
    )]
    pub proxy_roles: Vec<(String, Role)>,
    /// Role of a proxy user none of whose groups is mapped.
    #[arg(
        long,
        env = "FAULTBOOK_PROXY_DEFAULT_ROLE",
        default_value = "viewer",
        value_parser = parse_role,
        global = true
    )]
    pub proxy_default_role: Role,
    /// Addresses of reverse proxies (CIDR, comma-separated) whose X-Forwarded-For and
    /// --trust-proxy-header are believed.
    #[arg(
        long,
        env = "FAULTBOOK_TRUSTED_PROXY",
        value_delimiter = ',',
        value_parser = parse_net,
        global = true
    )]
    pub trusted_proxy: Vec<IpNet>,
    /// A session ends after this long unused (e.g. 30d, 12h).
    #[arg(long, env = "FAULTBOOK_SESSION_IDLE", default_value = "30d", value_parser = parse_span, global = true)]
    pub session_idle: i64,
    /// A session ends this long after login, used or not.
    #[arg(long, env = "FAULTBOOK_SESSION_MAX", default_value = "90d", value_parser = parse_span, global = true)]
    pub session_max: i64,
    /// Writes (cases filed, edits) per minute allowed to one token or one address.
    #[arg(
        long,
        env = "FAULTBOOK_WRITE_LIMIT",
        default_value_t = 120,
        global = true
    )]
    pub write_limit: u32,
    /// How long after filing a tech may still add to their own case (a new outcome, a note,
    /// photos), e.g. 72h or 7d; 0 turns it off. Editors may change any case at any time.
    #[arg(long, env = "FAULTBOOK_OWN_CASE_EDIT_WINDOW", default_value = "72h", value_parser = parse_window, global = true)]
    pub own_case_edit_window: i64,
    #[command(flatten)]
    pub connections: ConnectionFlags,
    #[command(flatten)]
    pub ops: OpsFlags,
}

/// How the service reports and how hard it holds on to what it acknowledged.
#[derive(Debug, Clone, Args)]
pub struct OpsFlags {
    /// When a commit is acknowledged: `full` (on disk first; survives a power cut) or
    /// `normal` (faster; a power cut may lose the last acknowledged cases).
    #[arg(long, env = "FAULTBOOK_SQLITE_SYNCHRONOUS", value_enum, default_value_t = crate::db::Durability::Full, global = true)]
    pub sqlite_synchronous: crate::db::Durability,
    /// Log lines as readable text or as one JSON object per line (for Loki or ELK).
    #[arg(long, env = "FAULTBOOK_LOG_FORMAT", value_enum, default_value_t = crate::telemetry::LogFormat::Text, global = true)]
    pub log_format: crate::telemetry::LogFormat,
    /// Networks (CIDR, comma-separated) besides loopback that may read /metrics.
    #[arg(
        long,
        env = "FAULTBOOK_METRICS_ALLOW",
        value_delimiter = ',',
        value_parser = parse_net,
        global = true
    )]
    pub metrics_allow: Vec<IpNet>,
}

const HEADER_TIMEOUT: &str = "10s";
const IDLE_TIMEOUT: &str = "60s";
const REQUEST_TIMEOUT: &str = "120s";
const MAX_CONNECTIONS: &str = "1000";
const SHUTDOWN_GRACE: &str = "20s";

/// How long a client may take and how many may be connected (see `server.rs`).
#[derive(Debug, Clone, Args)]
pub struct ConnectionFlags {
    /// A client must send a request's headers within this time.
    #[arg(long, env = "FAULTBOOK_HEADER_TIMEOUT", default_value = HEADER_TIMEOUT, value_parser = parse_span, global = true)]
    pub header_timeout: i64,
    /// A connection that moves no byte this long is closed.
    #[arg(long, env = "FAULTBOOK_IDLE_TIMEOUT", default_value = IDLE_TIMEOUT, value_parser = parse_span, global = true)]
    pub idle_timeout: i64,
    /// A request (upload included) must be answered within this time, else 408.
    #[arg(long, env = "FAULTBOOK_REQUEST_TIMEOUT", default_value = REQUEST_TIMEOUT, value_parser = parse_span, global = true)]
    pub request_timeout: i64,
    /// Open connections at most; lowered at start to fit the process's file limit.
    #[arg(long, env = "FAULTBOOK_MAX_CONNECTIONS", default_value = MAX_CONNECTIONS, global = true)]
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, requests in flight get this long to finish before the server exits.
    #[arg(long, env = "FAULTBOOK_SHUTDOWN_GRACE", default_value = SHUTDOWN_GRACE, value_parser = parse_span, global = true)]
    pub shutdown_grace: i64,
}

impl Default for ConnectionFlags {
    fn default() -> Self {
        let span = |s| parse_span(s).unwrap_or(60);
        ConnectionFlags {
            header_timeout: span(HEADER_TIMEOUT),
            idle_timeout: span(IDLE_TIMEOUT),
            request_timeout: span(REQUEST_TIMEOUT),
            max_connections: MAX_CONNECTIONS.parse().unwrap_or(1000),
            shutdown_grace: span(SHUTDOWN_GRACE),
        }
    }
}

impl ConnectionFlags {
    pub fn limits(&self) -> crate::server::ConnectionLimits {
        let secs = |s: i64| std::time::Duration::from_secs(s.max(1) as u64);
        crate::server::ConnectionLimits {
            header_read: secs(self.header_timeout),
            idle: secs(self.idle_timeout),
            max_connections: self.max_connections.max(1),
            close_grace: secs(self.shutdown_grace),
        }
        .fitted_to_file_limit()
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout.max(1) as u64)
    }
}

/// A time span such as `30d`, `12h`, `45m` or `90s`, in seconds.
pub fn parse_span(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a time span; write e.g. 30d, 12h, 45m or 90s"))?;
    let mult = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("`{s}` is out of range"))
}

/// A time span like `parse_span`, or `0` / `off` for none.
fn parse_window(s: &str) -> Result<i64, String> {
    match s.trim() {
        "0" | "off" => Ok(0),
        other => parse_span(other),
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("faultbook.db").display()))
    }

    pub fn photo_dir(&self) -> PathBuf {
        self.photo_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("photos"))
    }

    /// Is the site served over https (so cookies are `Secure` and `__Host-` prefixed)?
    pub fn https(&self) -> bool {
        self.base_url
            .as_deref()
            .is_some_and(|b| b.starts_with("https://"))
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// Images shown in guides, stored by hash (uploaded, or imported from `content/images/`).
    pub fn guide_image_dir(&self) -> PathBuf {
        self.data_dir.join("guide-images")
    }

    /// A configuration for a data folder and a content folder, listening on a free loopback
    /// port, everything else as the flags' defaults (and `FAULTBOOK_*` variables) say.
    pub fn for_dirs(data_dir: PathBuf, content_dir: PathBuf) -> Config {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            config: Config,
        }
        let mut config = Flags::parse_from(["faultbook", "--addr", "127.0.0.1:0"]).config;
        config.data_dir = data_dir;
        config.content_dir = content_dir;
        config
    }

    /// The host names requests may name: `--allowed-hosts`, else the loopback names and the
    /// `--base-url` host, else the names a first start on the plant network is reached by.
    pub fn served_hosts(&self) -> Vec<String> {
        if !self.allowed_hosts.is_empty() {
            return self
                .allowed_hosts
                .iter()
                .map(|h| host_only(h))
                .filter(|h| !h.is_empty())
                .collect();
        }
        // Loopback names name no other site, so they serve local checks and a proxy that
        // forwards its own upstream address as Host (nginx's default) without opening any door.
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .map(String::from)
            .to_vec();
        if let Some(base) = &self.base_url {
            let authority = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
            hosts.push(host_only(authority.split('/').next().unwrap_or("")));
            return hosts;
        }
        hosts.push(host_only(&gethostname::gethostname().to_string_lossy()));
        let mut addrs: Vec<IpAddr> = if_addrs::get_if_addrs()
            .map(|list| list.into_iter().map(|i| i.ip()).collect())
            .unwrap_or_default();
        addrs.push(self.addr.ip());
        hosts.extend(
            addrs
                .iter()
                .map(|ip| host_only(&SocketAddr::new(*ip, 0).to_string())),
        );
        hosts.retain(|h| !h.is_empty());
        hosts.sort();
        hosts.dedup();
        hosts
    }
}

/// The host part of a `Host` value or authority, lower-case, without port or trailing dot;
/// IPv6 addresses keep their brackets.
pub fn host_only(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split_once(']')
            .map_or(String::new(), |(h, _)| format!("[{h}]"))
    } else {
        a.split(':').next().unwrap_or("").to_string()
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("`{s}` is not a role; choose viewer, tech, editor or admin"))
}

/// One `GROUP=ROLE` pair of --proxy-roles.
fn parse_group_role(pair: &str) -> Result<(String, Role), String> {
    let (group, role) = pair
        .split_once('=')
        .ok_or_else(|| format!("`{pair}` should be GROUP=ROLE"))?;
    Ok((group.trim().to_string(), parse_role(role)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_only_drops_ports_and_keeps_brackets() {
        assert_eq!(host_only("Example.COM:8080"), "example.com");
        assert_eq!(host_only("[::1]:8080"), "[::1]");
        assert_eq!(host_only("plant.example."), "plant.example");
        assert_eq!(host_only("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn roles_are_parsed_with_the_flags() {
        let c = Config::for_dirs("d".into(), "c".into());
        assert_eq!(c.proxy_default_role, Role::Viewer);
        assert_eq!(c.write_limit, 120);
        assert_eq!(c.own_case_edit_window, 72 * 3600);
        assert_eq!(parse_window("off"), Ok(0));
        assert_eq!(parse_window("7d"), Ok(7 * 86_400));
        assert_eq!(
            parse_group_role("floor=tech"),
            Ok(("floor".to_string(), Role::Tech))
        );
        assert!(parse_group_role("floor=boss").is_err());
    }

    #[test]
    fn hosts_default_to_the_base_url_or_this_machine() {
        let mut c = Config::for_dirs("d".into(), "c".into());
        let hosts = c.served_hosts();
        for h in ["localhost", "127.0.0.1", "[::1]"] {
            assert!(hosts.contains(&h.to_string()), "{hosts:?}");
        }
        c.base_url = Some("https://faultbook.plant.example/".into());
        assert_eq!(
            c.served_hosts(),
            vec!["localhost", "127.0.0.1", "[::1]", "faultbook.plant.example"]
        );
        c.allowed_hosts = vec!["a.example:8080".into(), "B.example".into()];
        assert_eq!(c.served_hosts(), vec!["a.example", "b.example"]);
    }
}
