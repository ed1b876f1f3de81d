//! Reading and writing topology.conf's tree syntax, line by line.
//!
//! The lexical rules are those of Slurm's parser for every slurm.conf-like file
//! (docs/SOURCES.md [slurm-parse-config]): a `#` not escaped by a backslash
//! starts a comment; an odd number of backslashes at the end of a line (after the comment
//! is cut and trailing blanks are skipped) joins the next line to it; `\X` stands for X;
//! a line is `Key=Value` pairs separated by blanks, keys case-insensitive, a value either
//! without blanks or in double quotes. The directives are topology.conf(5)'s for the
//! topology/tree plugin (docs/SOURCES.md [slurm-topology-conf]): `SwitchName=` first on its line,
//! then `Switches=` or `Nodes=` (hostlists; Slurm's tree plugin refuses a switch with both
//! or neither) and an optional `LinkSpeed=` (a uint32 in arbitrary units that Slurm does
//! not use).

use super::hostlist::{self, HostlistError};
use super::types::{SlurmError, SlurmSwitch, SlurmTopology};

/// One logical line: its text after comments, continuations and escapes, with the
/// physical line of every byte.
struct Logical {
    text: String,
    line_of: Vec<usize>,
}

/// Logical lines of `text`, by Slurm's rules.
fn logical_lines(text: &str) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut cur: Vec<(char, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let mut chars: Vec<char> = raw.chars().collect();
        // Comment: a `#` after an even number of backslashes.
        let mut bs = 0;
        if let Some(p) = chars.iter().position(|&c| {
            let hit = c == '#' && bs % 2 == 0;
            bs = if c == '\\' { bs + 1 } else { 0 };
            hit
        }) {
            chars.truncate(p);
        }
        // Continuation: an odd run of backslashes ending the line (blanks after it skipped).
        let end = chars
            .iter()
            .rposition(|c| !c.is_whitespace())
            .map_or(0, |p| p + 1);
        let run = chars[..end]
            .iter()
            .rev()
            .take_while(|&&c| c == '\\')
            .count();
        let cont = run % 2 == 1;
        if cont {
            chars.truncate(end - 1);
        }
        cur.extend(chars.into_iter().map(|c| (c, line)));
        if !cont {
            out.push(unescape(std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push(unescape(cur));
    }
    out
}

/// `\X` → X.
fn unescape(chars: Vec<(char, usize)>) -> Logical {
    let mut l = Logical {
        text: String::new(),
        line_of: Vec::new(),
    };
    let mut it = chars.into_iter();
    while let Some((c, line)) = it.next() {
        let (c, line) = if c == '\\' {
            it.next().unwrap_or((c, line))
        } else {
            (c, line)
        };
        l.text.push(c);
        l.line_of.extend(std::iter::repeat_n(line, c.len_utf8()));
    }
    l
}

/// `Key=Value` pairs of a logical line: (key, value, byte offset of the key).
/// (key, value, byte offset of the key) of each pair; or where and what is wrong.
type Pairs = Result<Vec<(String, String, usize)>, (usize, String)>;

fn pairs(l: &Logical) -> Pairs {
    let s = &l.text;
    let mut out = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
            i += 1;
        }
        let key = &s[start..i];
        let word_end = s[start..]
            .find(char::is_whitespace)
            .map_or(s.len(), |e| start + e);
        if key.is_empty() || i >= b.len() || !matches!(b[i], b'=' | b'+' | b'-' | b'*' | b'/') {
            return Err((
                start,
                format!("expected KEY=VALUE, found `{}`", &s[start..word_end]),
            ));
        }
        if b[i] != b'=' {
            return Err((
                start,
                format!(
                    "`{key}{}=`: topology.conf sets values with `=` only",
                    b[i] as char
                ),
            ));
        }
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            let close = s[i + 1..]
                .find('"')
                .ok_or((start, format!("`{key}=`: the quote is not closed")))?;
            let v = s[i + 1..i + 1 + close].to_string();
            i += close + 2;
            v
        } else {
            let e = s[i..].find(char::is_whitespace).map_or(s.len(), |e| i + e);
            let v = s[i..e].to_string();
            i = e;
            v
        };
        out.push((key.to_string(), value, start));
    }
}

/// The tree plugin's directives, in the case topology.conf(5) writes them.
const KEYS: [&str; 4] = ["SwitchName", "Switches", "Nodes", "LinkSpeed"];

/// Parses topology.conf text (`file` names it in errors): every line's directives and
/// hostlists. Whether the switches form one tree is [`SlurmTopology::check`]'s.
pub fn parse(file: &str, text: &str) -> Result<SlurmTopology, SlurmError> {
    let mut switches = Vec::new();
    for l in logical_lines(text) {
        let at = |off: usize, msg: String| SlurmError::Line {
            file: file.to_string(),
            line: l
                .line_of
                .get(off)
                .or(l.line_of.last())
                .copied()
                .unwrap_or(0),
            msg,
        };
        let ps = pairs(&l).map_err(|(off, m)| at(off, m))?;
        let Some((k0, name, off0)) = ps.first() else {
            continue;
        };
        let canon = |k: &str| KEYS.iter().find(|c| c.eq_ignore_ascii_case(k)).copied();
        for (k, _, off) in &ps {
            if canon(k).is_none() {
                return Err(at(
                    *off,
                    format!(
                        "unknown directive `{k}` (the topology/tree plugin knows SwitchName, Switches, Nodes and LinkSpeed)"
                    ),
                ));
            }
        }
        if canon(k0) != Some("SwitchName") {
            return Err(at(
                *off0,
                format!(
                    "`{k0}=` before any `SwitchName=` on its line: a line starts with SwitchName="
                ),
            ));
        }
        hostlist::check_name(name).map_err(|e| {
            at(
                *off0,
                format!("SwitchName=`{name}`: one switch name, not a list: {e}"),
            )
        })?;
        let mut sw = SlurmSwitch {
            name: name.clone(),
            nodes: Vec::new(),
            switches: Vec::new(),
            link_speed: None,
            line: l.line_of[*off0],
        };
        let mut seen = vec!["SwitchName"];
        let (mut has_nodes, mut has_switches) = (false, false);
        for (k, v, off) in &ps[1..] {
            let key = canon(k).expect("checked");
            if seen.contains(&key) {
                return Err(at(*off, format!("`{key}=` twice on one line")));
            }
            seen.push(key);
            let list = |v: &str| {
                hostlist::expand(v)
                    .map_err(|HostlistError(e)| at(*off, format!("{key}=: malformed hostlist {e}")))
            };
            match key {
                "Nodes" => (sw.nodes, has_nodes) = (list(v)?, true),
                "Switches" => (sw.switches, has_switches) = (list(v)?, true),
                _ => {
                    sw.link_speed = Some(v.parse::<u32>().map_err(|_| {
                        at(
                            *off,
                            format!("LinkSpeed=`{v}` is not a whole number (0 to 4294967295)"),
                        )
                    })?)
                }
            }
        }
        let both = has_nodes && has_switches;
        if both || (sw.nodes.is_empty() && sw.switches.is_empty()) {
            return Err(at(
                *off0,
                format!(
                    "switch `{name}` has {} (Slurm's tree plugin refuses it)",
                    if both {
                        "both child switches and nodes"
                    } else {
                        "neither child switches nor nodes"
                    }
                ),
            ));
        }
        switches.push(sw);
    }
    Ok(SlurmTopology { switches })
}

/// topology.conf text for `t`: `header` lines as comments, then one line per switch.
pub fn render(t: &SlurmTopology, header: &[String]) -> Result<String, SlurmError> {
    let mut out = String::new();
    for h in header {
        out.push_str(&format!("# {h}\n"));
    }
    for s in &t.switches {
        let bad = |e: HostlistError| SlurmError::Topology(format!("switch `{}`: {e}", s.name));
        hostlist::check_name(&s.name).map_err(bad)?;
        out.push_str(&format!("SwitchName={}", s.name));
        if !s.nodes.is_empty() {
            out.push_str(&format!(
                " Nodes={}",
                hostlist::compress(&s.nodes).map_err(bad)?
            ));
        }
        if !s.switches.is_empty() {
            let list = hostlist::compress(&s.switches).map_err(bad)?;
            out.push_str(&format!(" Switches={list}"));
        }
        if let Some(l) = s.link_speed {
            out.push_str(&format!(" LinkSpeed={l}"));
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<SlurmTopology, String> {
        parse("t.conf", text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_comments_continuations_escapes_quotes_and_any_case() {
        let t = one(concat!(
            "# a comment\n",
            "\n",
            "SwitchName=s0 Nodes=dev[0-5]   # trailing comment\n",
            "switchname=s1 nodes=\"dev[6-7]\" LINKSPEED=100\n",
            "SwitchName=s2 \\\n",
            "   Nodes=dev[8-9],\\\n",
            "dev10 \\   \n",
            "   LinkSpeed=7\n",
            "SwitchName=top Switches=s[0-2]#comment\n",
        ))
        .unwrap();
        let s = &t.switches;
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].nodes.len(), 6);
        assert_eq!((s[1].name.as_str(), s[1].link_speed), ("s1", Some(100)));
        assert_eq!(s[1].nodes, ["dev6", "dev7"]);
        assert_eq!(s[2].nodes, ["dev8", "dev9", "dev10"]);
        assert_eq!((s[2].line, s[2].link_speed), (5, Some(7)));
        assert_eq!((s[3].switches.len(), s[3].line), (3, 9));
    }

    /// Each bad line is one error naming the file, the physical line and the problem.
    #[test]
    fn a_bad_line_is_one_error_with_its_line() {
        for (text, want) in [
            (
                "SwitchName=s0 Nodes=a\nSwitchName=s1 Nodez=b\n",
                "t.conf:2: unknown directive `Nodez`",
            ),
            (
                "BlockName=b1 Nodes=a\n",
                "t.conf:1: unknown directive `BlockName`",
            ),
            (
                "Nodes=a SwitchName=s\n",
                "t.conf:1: `Nodes=` before any `SwitchName=`",
            ),
            (
                "\n\nSwitchName=s Nodes=n[1-\n",
                "t.conf:3: Nodes=: malformed hostlist `n[1-`",
            ),
            (
                "SwitchName=s \\\n Nodes=n[3-1]\n",
                "t.conf:2: Nodes=: malformed hostlist `n[3-1]`: range",
            ),
            (
                "SwitchName=s Nodes=a Switches=b\n",
                "t.conf:1: switch `s` has both child switches and nodes",
            ),
            (
                "SwitchName=s LinkSpeed=1\n",
                "t.conf:1: switch `s` has neither",
            ),
            (
                "SwitchName=s Nodes=a LinkSpeed=fast\n",
                "t.conf:1: LinkSpeed=`fast` is not a whole number",
            ),
            ("SwitchName=s Nodes=a Nodes=b\n", "t.conf:1: `Nodes=` twice"),
            (
                "SwitchName=s Nodes=a \\#b\n",
                "t.conf:1: expected KEY=VALUE, found `#b`",
            ),
            (
                "SwitchName=s Nodes=a junk\n",
                "t.conf:1: expected KEY=VALUE, found `junk`",
            ),
            (
                "SwitchName=s Nodes+=a\n",
                "t.conf:1: `Nodes+=`: topology.conf sets values with `=` only",
            ),
            (
                "SwitchName=s[1-2] Nodes=a\n",
                "t.conf:1: SwitchName=`s[1-2]`: one switch name",
            ),
            (
                "SwitchName=s Nodes=\"a\n",
                "t.conf:1: `Nodes=`: the quote is not closed",
            ),
        ] {
            let e = one(text).unwrap_err();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn renders_compressed_hostlists() {
        let t = SlurmTopology {
            switches: vec![
                SlurmSwitch::leaf("s0", &["node01", "node02", "node03"]),
                SlurmSwitch {
                    switches: vec!["s0".into()],
                    link_speed: Some(5),
                    ..SlurmSwitch::leaf("top", &[])
                },
            ],
        };
        let text = render(&t, &["made by a test".into()]).unwrap();
        assert_eq!(
            text,
            "# made by a test\nSwitchName=s0 Nodes=node[01-03]\nSwitchName=top Switches=s0 LinkSpeed=5\n"
        );
        assert_eq!(
            parse("x", &text).unwrap().switches,
            t.switches
                .iter()
                .map(|s| SlurmSwitch {
                    line: if s.name == "s0" { 2 } else { 3 },
                    ..s.clone()
                })
                .collect::<Vec<_>>()
        );
    }
}
