//! The canonical rendering of values, rows and keys that the checksums hash.

use super::values::Value;

impl Value {
    /// The canonical form the checksums hash.
    pub(super) fn render(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = match self {
            Value::Null => out.write_all(b"n"),
            Value::Int(i) => write!(out, "i:{i}"),
            Value::Real(f) => write!(out, "f:{f:?}"),
            Value::Text(s) => {
                write!(out, "t:{}:", s.len()).and_then(|()| out.write_all(s.as_bytes()))
            }
            Value::Blob(b) => write!(out, "b:{}", hex::encode(b)),
        };
    }
}

pub(super) fn render_row(row: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * row.len());
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(0x1f);
        }
        v.render(&mut out);
    }
    out.push(0x1e);
    out
}

pub(super) fn render_key(row: &[Value], keys: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &k in keys {
        row[k].render(&mut out);
        out.push(0x1f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_canonically_and_unambiguously() {
        let row = [
            Value::Int(-3),
            Value::Real(1.5),
            Value::Real(12.0),
            Value::Text("a\u{1f}b".into()),
            Value::Null,
            Value::Blob(vec![0xde, 0xad]),
        ];
        assert_eq!(
            render_row(&row),
            b"i:-3\x1ff:1.5\x1ff:12.0\x1ft:3:a\x1fb\x1fn\x1fb:dead\x1e".to_vec()
        );
        // A separator inside a text cannot make two rows render alike.
        assert_ne!(
            render_row(&[Value::Text("a\u{1f}t:1:b".into())]),
            render_row(&[Value::Text("a".into()), Value::Text("b".into())])
        );
    }
}
