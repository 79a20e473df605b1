//! Address ranges for `--open-intake` and `--trusted-proxy`, as `ipnet` networks.

use std::net::IpAddr;

pub use ipnet::IpNet;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an address range; write it like 10.20.0.0/16, 192.168.1.7 or fd00::/8")]
pub struct BadRange(pub String);

/// A CIDR range such as `10.20.0.0/16`; a bare address is a /32 or /128.
pub fn parse_net(s: &str) -> Result<IpNet, BadRange> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| BadRange(s.to_string()))
}

/// An IPv4 client seen through a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// True when any range holds the address.
pub fn any_contains(ranges: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    ranges.iter().any(|r| r.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(range: &str, ip: &str) -> bool {
        any_contains(&[parse_net(range).unwrap()], ip.parse().unwrap())
    }

    #[test]
    fn ranges_hold_what_they_should() {
        assert!(holds("10.20.0.0/16", "10.20.3.4"));
        assert!(!holds("10.20.0.0/16", "10.21.0.1"));
        assert!(holds("192.168.1.7", "192.168.1.7"));
        assert!(!holds("192.168.1.7", "192.168.1.8"));
        assert!(holds("0.0.0.0/0", "8.8.8.8"));
        assert!(holds("fd00::/8", "fd12::1"));
        assert!(!holds("fd00::/8", "10.0.0.1"));
        assert!(holds("10.20.0.0/16", "::ffff:10.20.0.9"));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_text() {
        for s in ["10.0.0.0/33", "10.0.0", "x", "::/129", "1.2.3.4/-1"] {
            assert_eq!(parse_net(s), Err(BadRange(s.to_string())));
        }
    }
}
