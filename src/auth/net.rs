//! Address ranges for `--open-intake` and `--trusted-proxy`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One CIDR range such as `10.20.0.0/16` or `::1/128`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an address range; write it like 10.20.0.0/16, 192.168.1.7 or fd00::/8")]
pub struct BadRange(pub String);

impl FromStr for IpRange {
    type Err = BadRange;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadRange(s.to_string());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpRange { base, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (canonical(self.base), canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// True when any range holds the address.
pub fn any_contains(ranges: &[IpRange], ip: IpAddr) -> bool {
    ranges.iter().any(|r| r.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_what_they_should() {
        let r: IpRange = "10.20.0.0/16".parse().unwrap();
        assert!(r.contains("10.20.3.4".parse().unwrap()));
        assert!(!r.contains("10.21.0.1".parse().unwrap()));
        let one: IpRange = "192.168.1.7".parse().unwrap();
        assert!(one.contains("192.168.1.7".parse().unwrap()));
        assert!(!one.contains("192.168.1.8".parse().unwrap()));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: IpRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        // An IPv4 client seen through a dual-stack socket still matches its IPv4 range.
        assert!(r.contains("::ffff:10.20.0.9".parse().unwrap()));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_text() {
        for s in ["10.0.0.0/33", "10.0.0", "x", "::/129", "1.2.3.4/-1"] {
            assert_eq!(s.parse::<IpRange>(), Err(BadRange(s.to_string())));
        }
    }
}
