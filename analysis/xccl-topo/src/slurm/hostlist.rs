//! Slurm hostlist expressions: `node[01-32]`, `node[1-3,7]`, `rack[1-2]-n[01-04]`, lists
//! joined by commas. Written here because the one Rust crate for it (`hostlist` 0.3.1,
//! last released 2020) only expands, on nom 6, with `&'static str` errors, and export
//! needs the reverse.
//!
//! The rules are Slurm's (src/common/hostlist.c; checked against `scontrol show hostnames`
//! of Slurm 22.05.8): a bracket holds comma-separated numbers and `lo-hi` ranges, the
//! width of `lo` is the zero-padding of every number of the range (`n[001-3]` is n001
//! n002 n003, `n[09-11]` n09 n10 n11); several brackets in one name multiply
//! (`a[1-2]b[3-4]` is a1b3 a1b4 a2b3 a2b4). Slurm refuses a bracket inside a bracket
//! (`n[1-[2-3]]`), a backwards range, a non-number, an empty range and text after the last
//! bracket (`n[1-2]x`), and so does this; it is stricter where Slurm guesses (an unclosed
//! `[`, `n[1-]`, spaces).

use std::fmt::Write;
use thiserror::Error;

/// Most names one expression may expand to (the node limit of a topology file).
pub const MAX_NAMES: usize = crate::topology::MAX_NODES;

/// What is wrong with an expression or a name, in words (the caller adds where).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct HostlistError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, HostlistError> {
    Err(HostlistError(msg.into()))
}

/// One `[...]`: ranges `(lo, hi, width)`.
type Ranges = Vec<(u64, u64, usize)>;

/// A name with brackets: literal text and bracket groups, in order.
enum Part {
    Text(String),
    Ranges(Ranges),
}

/// The names `expr` stands for, in Slurm's order (the first bracket varies slowest).
pub fn expand(expr: &str) -> Result<Vec<String>, HostlistError> {
    if let Some(c) = expr.chars().find(|c| c.is_whitespace()) {
        return err(format!("`{expr}`: a space ({c:?}) in a hostlist"));
    }
    let mut out = Vec::new();
    for item in split_top(expr)? {
        if item.is_empty() {
            continue; // `a,,b` is a, b (as Slurm reads it)
        }
        let parts = parse_item(item)?;
        let count = parts.iter().try_fold(1usize, |n, p| match p {
            Part::Text(_) => Some(n),
            Part::Ranges(r) => r
                .iter()
                .try_fold(0usize, |s, (lo, hi, _)| {
                    s.checked_add((hi - lo + 1) as usize)
                })
                .and_then(|k| k.checked_mul(n)),
        });
        match count {
            Some(c) if out.len() + c <= MAX_NAMES => {}
            _ => return err(format!("`{item}`: more than {MAX_NAMES} names")),
        }
        let mut names = vec![String::new()];
        for p in &parts {
            names = match p {
                Part::Text(t) => names.into_iter().map(|n| n + t).collect(),
                Part::Ranges(r) => names
                    .iter()
                    .flat_map(|n| {
                        r.iter().flat_map(move |&(lo, hi, w)| {
                            (lo..=hi).map(move |i| format!("{n}{i:0w$}"))
                        })
                    })
                    .collect(),
            };
        }
        out.extend(names);
    }
    Ok(out)
}

/// Splits at the commas outside brackets; refuses nested or unbalanced brackets.
fn split_top(expr: &str) -> Result<Vec<&str>, HostlistError> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in expr.char_indices() {
        match c {
            '[' if depth == 1 => {
                return err(format!(
                    "`{expr}`: a bracket inside a bracket (Slurm allows several brackets one after another, as in a[1-2]b[3-4], not nested)"
                ))
            }
            '[' => depth = 1,
            ']' if depth == 0 => return err(format!("`{expr}`: `]` without `[`")),
            ']' => depth = 0,
            ',' if depth == 0 => {
                items.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return err(format!("`{expr}`: `[` is not closed"));
    }
    items.push(&expr[start..]);
    Ok(items)
}

fn parse_item(item: &str) -> Result<Vec<Part>, HostlistError> {
    let mut parts = Vec::new();
    let mut rest = item;
    while let Some(open) = rest.find('[') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let close = open + rest[open..].find(']').expect("balanced by split_top");
        parts.push(Part::Ranges(parse_ranges(item, &rest[open + 1..close])?));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        if parts.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        } else {
            return err(format!(
                "`{item}`: text `{rest}` after the last `]` (Slurm refuses it)"
            ));
        }
    }
    Ok(parts)
}

fn parse_ranges(item: &str, inside: &str) -> Result<Ranges, HostlistError> {
    let number = |s: &str| -> Result<u64, HostlistError> {
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("`{item}`: `{inside}`: `{s}` is not a number"));
        }
        Ok(s.parse().expect("digits"))
    };
    let mut out = Vec::new();
    for r in inside.split(',') {
        if r.is_empty() {
            return err(format!("`{item}`: an empty range in `[{inside}]`"));
        }
        let (lo_s, hi_s) = r.split_once('-').unwrap_or((r, r));
        let (lo, hi) = (number(lo_s)?, number(hi_s)?);
        if hi < lo {
            return err(format!("`{item}`: range `{r}` runs backwards"));
        }
        out.push((lo, hi, lo_s.len()));
    }
    Ok(out)
}

/// Whether `name` can stand in a hostlist (and in topology.conf) as it is.
pub fn check_name(name: &str) -> Result<(), HostlistError> {
    let bad = |c: char| c.is_whitespace() || "[],=#\\\"".contains(c);
    match name.chars().find(|&c| bad(c)) {
        _ if name.is_empty() => err("an empty name"),
        Some(c) => err(format!(
            "name `{name}` holds {c:?}, which topology.conf cannot carry in a hostlist"
        )),
        None => Ok(()),
    }
}

/// The shortest-in-practice expression for `names`, keeping their order (as Slurm's
/// `scontrol show hostlist` does): consecutive names that share a prefix go into one
/// bracket, consecutive numbers of one width into one range (`n1,n2,n3,n07,n08` →
/// `n[1-3,07-08]`). `expand` of the result gives `names` back.
pub fn compress(names: &[String]) -> Result<String, HostlistError> {
    // (prefix, ranges) per bracket group, in order.
    let mut groups: Vec<(String, Ranges)> = Vec::new();
    for name in names {
        check_name(name)?;
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, num) = name.split_at(name.len() - digits);
        if num.is_empty() || num.len() > 18 {
            groups.push((name.clone(), Vec::new()));
            continue;
        }
        let n: u64 = num.parse().expect("digits");
        match groups.last_mut() {
            Some((p, r)) if p == prefix && !r.is_empty() => {
                let (_, hi, w) = r.last_mut().expect("non-empty");
                if n == *hi + 1 && format!("{n:0w$}", w = *w) == num {
                    *hi = n;
                } else {
                    r.push((n, n, num.len()));
                }
            }
            _ => groups.push((prefix.to_string(), vec![(n, n, num.len())])),
        }
    }
    let mut out = String::new();
    for (i, (prefix, ranges)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(prefix);
        match ranges.as_slice() {
            [] => {}
            [(lo, hi, w)] if lo == hi => write!(out, "{lo:0w$}").expect("string"),
            _ => {
                out.push('[');
                for (j, (lo, hi, w)) in ranges.iter().enumerate() {
                    let sep = if j > 0 { "," } else { "" };
                    if lo == hi {
                        write!(out, "{sep}{lo:0w$}").expect("string");
                    } else {
                        write!(out, "{sep}{lo:0w$}-{hi:0w$}").expect("string");
                    }
                }
                out.push(']');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    /// The expected lists are `scontrol show hostnames` of Slurm 22.05.8.
    #[test]
    fn expands_as_slurm_does() {
        for (expr, want) in [
            ("node[01-03]", "node01 node02 node03"),
            ("node[1-3,7]", "node1 node2 node3 node7"),
            ("a[1-2]b[3-4]", "a1b3 a1b4 a2b3 a2b4"),
            (
                "rack[1-2]-n[01-02],x",
                "rack1-n01 rack1-n02 rack2-n01 rack2-n02 x",
            ),
            ("n[8-11]", "n8 n9 n10 n11"),
            ("n[001-3]", "n001 n002 n003"),
            ("n[1-002]", "n1 n2"),
            ("n[09-11]", "n09 n10 n11"),
            ("n[1-2][3-4]", "n13 n14 n23 n24"),
            ("[1-2]", "1 2"),
            ("a,,b", "a b"),
            ("n[1-3],n[2-4]", "n1 n2 n3 n2 n3 n4"),
            ("leaf-a", "leaf-a"),
        ] {
            assert_eq!(expand(expr).unwrap(), names(want), "{expr}");
        }
        assert_eq!(expand("n[01-100]").unwrap().last().unwrap(), "n100");
    }

    /// Each of these Slurm 22.05.8 refuses (`Invalid hostlist`), or reads as something
    /// no one means (`n[1-2` as `n]`, `n[1-]` as n1).
    #[test]
    fn refuses_what_slurm_refuses_naming_the_problem() {
        for (expr, says) in [
            ("n[1-[2-3]]", "a bracket inside a bracket"),
            ("n[3-1]", "runs backwards"),
            ("n[a-b]", "`a` is not a number"),
            ("n[1-2]x", "text `x` after the last `]`"),
            ("a[1-2]b[3-4]c", "text `c` after the last `]`"),
            ("n[,1]", "an empty range"),
            ("n[]", "an empty range"),
            ("n[1-2,]", "an empty range"),
            ("n[1--2]", "is not a number"),
            ("n[-2]", "is not a number"),
            ("n[1-]", "is not a number"),
            ("n[1-2", "`[` is not closed"),
            ("n1]", "`]` without `[`"),
            ("n[1-2]]", "`]` without `[`"),
            ("n[ 1-2]", "a space"),
            ("n[0-99999999999999999999]", "is not a number"),
            ("n[0-999999]x[0-9]", "more than 1000000 names"),
        ] {
            let e = expand(expr).unwrap_err().0;
            assert!(e.contains(says), "{expr}: {e}");
            assert!(e.contains(expr), "{expr}: {e}");
        }
    }

    /// `scontrol show hostlist` of Slurm 22.05.8 gives the same strings.
    #[test]
    fn compresses_as_slurm_does_and_round_trips() {
        for (list, want) in [
            ("n1 n2 n3 n07 n08 m5 n10", "n[1-3,07-08],m5,n10"),
            ("n1 n01 n2", "n[1,01,2]"),
            ("rack1n1 rack1n2 rack2n1", "rack1n[1-2],rack2n1"),
            ("b a", "b,a"),
            ("n9 n10 n11", "n[9-11]"),
            ("n2 n1", "n[2,1]"),
            ("node01 node02 node03 node04", "node[01-04]"),
            ("emu-n1", "emu-n1"),
            ("x y10 y11", "x,y[10-11]"),
        ] {
            let l = names(list);
            let c = compress(&l).unwrap();
            assert_eq!(c, want, "{list}");
            assert_eq!(expand(&c).unwrap(), l, "{list}");
        }
    }

    #[test]
    fn a_name_topology_conf_cannot_carry_is_refused() {
        for bad in ["a,b", "n[1]", "a b", "a#b", ""] {
            assert!(compress(&[bad.to_string()]).is_err(), "{bad:?}");
        }
    }
}
