//! The section of a rail-links file (`links` per device on a rail topology): one heat
//! map per rail (node × node), the intra-node device pairs, the cross-rail samples, the
//! NIC of every device and the findings. Heat maps are drawn here as SVG rects (one per
//! cell, with a colour legend) rather than through plotters: a map must stay small at
//! 1,024 nodes, so beyond [`MAX_CELLS`] rows the nodes are grouped into blocks, each
//! block cell showing its worst link and marked when any link in it is low.

use crate::input::{Judged, RailLinksFile};
use crate::page::{esc, finding_item, Options};
use crate::plot::heat;
use std::fmt::Write;
use xccl_diag::rail_plan::{tri_index, RailLink};

/// Most rows (and columns) a heat map draws; more nodes are grouped into blocks.
pub const MAX_CELLS: usize = 48;
/// Up to this many nodes, one intra-node map per node; more: one combined map.
pub const MAX_NODE_MAPS: usize = 8;

/// One heat map: row and column labels, cells row-major (`None`: not measured), each
/// with what a cell's tooltip says.
struct Grid<'a> {
    id: String,
    title: String,
    rows: Vec<String>,
    cols: Vec<String>,
    cells: Vec<Option<(Judged, String)>>,
    threshold: f64,
    /// What the colour is (efficiency against expected, or against the median).
    scale: &'a str,
}

fn hex(v: f64, threshold: f64) -> String {
    let c = heat(v, threshold);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// The heat map as an inline SVG: cells filled by [`heat`], low cells framed in black
/// and tagged `class="low"`, and a legend of the scale with the threshold marked.
fn grid_svg(g: &Grid) -> String {
    let (nr, nc) = (g.rows.len(), g.cols.len());
    let cell = (560 / nc.max(1)).clamp(8, 44) as f64;
    let font = cell.clamp(7.0, 12.0);
    let (left, top) = (150.0, 110.0);
    // Wide enough for the title and the legend however few the columns.
    let w = (left + cell * nc as f64 + 80.0).max(left + 480.0);
    let legend_y = top + cell * nr as f64 + 24.0;
    let h = legend_y + 44.0;
    let mut s = format!(
        "<svg id=\"{}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\"><text x=\"{left}\" y=\"16\" font-size=\"14\" font-family=\"sans-serif\">{}</text>",
        g.id,
        esc(&g.title)
    );
    for (c, l) in g.cols.iter().enumerate() {
        let x = left + cell * (c as f64 + 0.5);
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"{font}\" font-family=\"sans-serif\" transform=\"rotate(-60 {x:.1} {:.1})\">{}</text>",
            top - 4.0,
            top - 4.0,
            esc(l)
        );
    }
    for (r, l) in g.rows.iter().enumerate() {
        let y = top + cell * (r as f64 + 0.5);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"{font}\" font-family=\"sans-serif\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            left - 4.0,
            esc(l)
        );
    }
    for r in 0..nr {
        for c in 0..nc {
            let (x, y) = (left + cell * c as f64, top + cell * r as f64);
            match &g.cells[r * nc + c] {
                None => {
                    let _ = write!(s, "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"#eee\"/>");
                }
                Some(((v, low), tip)) => {
                    let _ = write!(
                        s,
                        "<rect{} data-r=\"{r}\" data-c=\"{c}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"{}\"{}><title>{}</title></rect>",
                        if *low { " class=\"low\"" } else { "" },
                        hex(*v, g.threshold),
                        if *low { " stroke=\"#000\" stroke-width=\"2\"" } else { "" },
                        esc(tip)
                    );
                    if *low && cell >= 28.0 {
                        let _ = write!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" font-family=\"sans-serif\" text-anchor=\"middle\" dominant-baseline=\"middle\">LOW</text>", x + cell / 2.0, y + cell / 2.0);
                    }
                }
            }
        }
    }
    // Legend: 0 … 1.2 of the scale, threshold and 1 marked.
    let lw = 300.0;
    for k in 0..60 {
        let v = 1.2 * k as f64 / 60.0;
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{legend_y:.1}\" width=\"5.5\" height=\"12\" fill=\"{}\"/>",
            left + lw * k as f64 / 60.0,
            hex(v, g.threshold)
        );
    }
    for (v, l) in [
        (0.0, "0".to_string()),
        (g.threshold, format!("{:.2}", g.threshold)),
        (1.0, "1".into()),
    ] {
        let x = left + lw * v / 1.2;
        let _ = write!(s, "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{legend_y:.1}\" y2=\"{:.1}\" stroke=\"#000\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"middle\">{l}</text>", legend_y + 16.0, legend_y + 27.0);
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" font-family=\"sans-serif\">{}; grey: not measured; black frame: low</text></svg>",
        left,
        legend_y + 40.0,
        esc(g.scale)
    );
    s
}

/// Blocks of `n` items, at most [`MAX_CELLS`]: ranges of item indices.
fn blocks(n: usize) -> Vec<std::ops::Range<usize>> {
    let size = n.div_ceil(MAX_CELLS).max(1);
    (0..n).step_by(size).map(|a| a..(a + size).min(n)).collect()
}

fn block_label(names: &[String], b: &std::ops::Range<usize>) -> String {
    if b.len() == 1 {
        names[b.start].clone()
    } else {
        format!("{}…{} ({})", names[b.start], names[b.end - 1], b.len())
    }
}

/// The worst of `links` (lowest efficiency), low if any is, with the count for a tooltip.
fn worst(links: impl Iterator<Item = (Judged, String)>) -> Option<(Judged, String)> {
    let mut n = 0;
    let mut lows = 0;
    let mut w: Option<(Judged, String)> = None;
    for (j, tip) in links {
        n += 1;
        lows += usize::from(j.1);
        if w.as_ref().is_none_or(|x| j.0 < x.0 .0) {
            w = Some((j, tip));
        }
    }
    w.map(|((v, _), tip)| {
        let tip = if n == 1 {
            tip
        } else {
            format!("worst of {n} links ({lows} low): {tip}")
        };
        ((v, lows > 0), tip)
    })
}

/// Efficiency and low of each same-rail link of `rail` (by node pair), from the judged
/// links, or, when the topology is not readable, GB/s over the rail's median and the
/// file's outliers as low.
fn rail_cells(l: &RailLinksFile, rail: usize) -> Vec<Option<(Judged, f64)>> {
    let m = &l.doc.report.rails[rail];
    let gbs: Vec<Option<f64>> = m
        .uni_mb_per_s
        .iter()
        .map(|x| x.map(|v| f64::from(v) / 1000.0))
        .collect();
    match &l.judged {
        Ok(j) => gbs
            .iter()
            .zip(&j.rails[rail])
            .map(|(g, j)| Some((((*j)?), (*g)?)))
            .collect(),
        Err(_) => {
            let n = l.doc.report.nodes;
            let med = median(gbs.iter().flatten().copied().collect());
            let mut low = vec![false; gbs.len()];
            for o in l.doc.report.outliers.iter().filter(|o| o.rail_a == rail) {
                low[tri_index(n, o.node_a, o.node_b)] = true;
            }
            gbs.iter()
                .zip(low)
                .map(|(g, lo)| g.map(|g| ((if med > 0.0 { g / med } else { 0.0 }, lo), g)))
                .collect()
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn scale(l: &RailLinksFile) -> &'static str {
    if l.judged.is_ok() {
        "colour: one-way GB/s / expected (topology's rates)"
    } else {
        "colour: one-way GB/s / the map's median (no expected rates)"
    }
}

/// One rail's node × node map (row a, column b: the link a → b measured one way, drawn
/// on both sides of the diagonal).
fn rail_map(i: usize, l: &RailLinksFile, rail: usize, opts: &Options) -> String {
    let r = &l.doc.report;
    let n = r.nodes;
    let cells = rail_cells(l, rail);
    let at = |a: usize, b: usize| -> Option<(Judged, String)> {
        if a == b {
            return None;
        }
        let (x, y) = (a.min(b), a.max(b));
        cells[tri_index(n, x, y)].map(|(j, g)| {
            (
                j,
                format!(
                    "{} → {}: {g:.3} GB/s, {:.2}{}",
                    l.doc.hosts.get(x).map_or("?", String::as_str),
                    l.doc.hosts.get(y).map_or("?", String::as_str),
                    j.0,
                    if j.1 { " LOW" } else { "" }
                ),
            )
        })
    };
    let bl = blocks(n);
    let labels: Vec<String> = bl.iter().map(|b| block_label(&l.doc.hosts, b)).collect();
    let mut grid = vec![];
    for ra in &bl {
        for cb in &bl {
            grid.push(worst(
                ra.clone()
                    .flat_map(|a| cb.clone().map(move |b| (a, b)))
                    .filter_map(|(a, b)| at(a, b)),
            ));
        }
    }
    let nic = l
        .doc
        .nics
        .iter()
        .find(|u| u.rail == rail)
        .map_or(String::new(), |u| format!(" ({}, leaf {})", u.nic, u.leaf));
    let lows = cells.iter().flatten().filter(|c| c.0 .1).count();
    let measured = cells.iter().flatten().count();
    let svg = grid_svg(&Grid {
        id: format!("rail-map-{i}-{rail}"),
        title: format!("rail {rail}{nic}"),
        rows: labels.clone(),
        cols: labels,
        cells: grid,
        threshold: opts.threshold,
        scale: scale(l),
    });
    format!(
        "<figure class=\"plot rail-map\" data-rail=\"{rail}\" data-low=\"{lows}\">{svg}<figcaption>Rail {rail}{}: {measured} node pair(s) measured, {lows} low (below {:.2}). Row a, column b: a → b one way.{}</figcaption></figure>\n",
        esc(&nic),
        opts.threshold,
        if bl.len() < n {
            format!(
                " {n} nodes shown as {} blocks of up to {} nodes (more than {MAX_CELLS} rows): each cell is its block's worst link, framed when any link in it is low.",
                bl.len(),
                bl[0].len()
            )
        } else {
            String::new()
        }
    )
}

fn intra_judged(l: &RailLinksFile) -> Vec<Judged> {
    match &l.judged {
        Ok(j) => j.intra.clone(),
        Err(_) => {
            let med = median(l.doc.report.intra.iter().map(|x| x.uni_gbs).collect());
            l.doc
                .report
                .intra
                .iter()
                .map(|x| (if med > 0.0 { x.uni_gbs / med } else { 0.0 }, false))
                .collect()
        }
    }
}

fn tip(l: &RailLinksFile, x: &RailLink, j: Judged, d: usize) -> String {
    format!(
        "{} dev{} → dev{}: {:.3} GB/s, {:.2}{}",
        l.doc.hosts.get(x.node_a).map_or("?", String::as_str),
        x.a % d,
        x.b % d,
        x.uni_gbs,
        j.0,
        if j.1 { " LOW" } else { "" }
    )
}

/// Intra-node device pairs: a device × device map per node, or, beyond
/// [`MAX_NODE_MAPS`] nodes, one map of nodes (blocked) × device pairs.
fn intra_maps(i: usize, l: &RailLinksFile, opts: &Options) -> String {
    let r = &l.doc.report;
    if r.intra.is_empty() {
        return String::new();
    }
    let d = r.rail_of_device.len().max(1);
    let j = intra_judged(l);
    let devs: Vec<String> = (0..d).map(|k| format!("dev{k}")).collect();
    let mut h = String::from("<h3>Intra-node device pairs</h3>\n");
    let lows = j.iter().filter(|x| x.1).count();
    if r.nodes <= MAX_NODE_MAPS {
        h += "<div class=\"side\">";
        for node in 0..r.nodes {
            let mut cells = vec![None; d * d];
            for (x, jj) in r.intra.iter().zip(&j).filter(|(x, _)| x.node_a == node) {
                let (a, b) = (x.a % d, x.b % d);
                cells[a * d + b] = Some((*jj, tip(l, x, *jj, d)));
                cells[b * d + a] = Some((*jj, tip(l, x, *jj, d)));
            }
            h += &format!(
                "<figure class=\"plot intra-map\">{}</figure>",
                grid_svg(&Grid {
                    id: format!("intra-map-{i}-{node}"),
                    title: l.doc.hosts.get(node).cloned().unwrap_or_default(),
                    rows: devs.clone(),
                    cols: devs.clone(),
                    cells,
                    threshold: opts.threshold,
                    scale: scale(l),
                })
            );
        }
        h += "</div>\n";
    } else {
        let pairs: Vec<(usize, usize)> = (0..d)
            .flat_map(|a| (a + 1..d).map(move |b| (a, b)))
            .collect();
        let bl = blocks(r.nodes);
        let mut cells = vec![];
        for b in &bl {
            for &(p, q) in &pairs {
                cells.push(worst(
                    r.intra
                        .iter()
                        .zip(&j)
                        .filter(|(x, _)| b.contains(&x.node_a) && x.a % d == p && x.b % d == q)
                        .map(|(x, jj)| (*jj, tip(l, x, *jj, d))),
                ));
            }
        }
        h += &format!(
            "<figure class=\"plot intra-map\">{}<figcaption>{} nodes: one row per {}, one column per device pair; each cell the worst pair.</figcaption></figure>\n",
            grid_svg(&Grid {
                id: format!("intra-map-{i}"),
                title: "intra-node device pairs, all nodes".into(),
                rows: bl.iter().map(|b| block_label(&l.doc.hosts, b)).collect(),
                cols: pairs.iter().map(|(a, b)| format!("{a}-{b}")).collect(),
                cells,
                threshold: opts.threshold,
                scale: scale(l),
            }),
            r.nodes,
            if bl.len() < r.nodes { "block of nodes" } else { "node" }
        );
    }
    let _ = writeln!(h, "<p>{} device pair(s), {lows} low.</p>", r.intra.len());
    h
}

/// The whole section of one rail-links file.
pub fn section(i: usize, l: &RailLinksFile, opts: &Options) -> String {
    let d = &l.doc;
    let r = &d.report;
    let mut h = format!(
        "<section id=\"rail-links-{i}\" class=\"rail-links\"><h2>Links per rail: {}</h2>\n<p>{} node(s) × {} device(s), backend {}, {} B × {}; rounds: {} same-rail, {} cross-rail, {} intra-node, {:.2} s; topology <code>{}</code>; low below {:.2} of expected.</p>\n",
        esc(&l.name),
        r.nodes,
        r.rail_of_device.len(),
        esc(&r.backend),
        r.size_bytes,
        r.iters,
        r.rounds.rail,
        r.rounds.cross,
        r.rounds.intra,
        d.wall_s,
        esc(&d.topology),
        d.threshold
    );
    if let Err(why) = &l.judged {
        let _ = writeln!(h, "<p class=\"partial\">Links not judged here: {}. Colours are against each map's median; low marks are the file's outliers (same-rail only).</p>", esc(why));
    }
    h += "<h3>Same-rail links, one heat map per rail</h3>\n";
    for rail in 0..r.rails.len() {
        h += &rail_map(i, l, rail, opts);
    }
    if !r.cross.is_empty() {
        let j: Vec<Judged> = match &l.judged {
            Ok(j) => j.cross.clone(),
            Err(_) => vec![],
        };
        let lows = j.iter().filter(|x| x.1).count();
        let mut e: Vec<f64> = j.iter().map(|x| x.0).collect();
        e.sort_by(f64::total_cmp);
        let _ = writeln!(
            h,
            "<p id=\"rail-cross-{i}\">Cross-rail samples: {}{}.</p>",
            r.cross.len(),
            match (e.first(), e.get(e.len() / 2)) {
                (Some(lo), Some(mid)) =>
                    format!(", efficiency min {lo:.2} median {mid:.2}, {lows} low"),
                _ => " (not judged)".into(),
            }
        );
    }
    h += &intra_maps(i, l, opts);
    let mut items = String::new();
    for f in &d.findings {
        let _ = writeln!(items, "{}", finding_item(f, None, ""));
    }
    if items.is_empty() {
        items = "<li>No finding.</li>\n".into();
    }
    let _ = write!(
        h,
        "<h3>Findings</h3><ul class=\"findings\" id=\"rail-findings-{i}\">\n{items}</ul>\n"
    );
    if !d.rechecks.is_empty() || !d.unconfirmed.is_empty() {
        let _ = writeln!(
            h,
            "<p>Confirmation: {} link(s) measured again alone ({:.2} s); {} suspect(s) not confirmed (no finding).</p>",
            d.rechecks.len(),
            d.confirm_s,
            d.unconfirmed.len()
        );
    }
    let _ = writeln!(h, "<details id=\"rail-nics-{i}\"><summary>NICs ({} — NIC of each device from {})</summary><table><tr><th class=\"l\">host</th><th>rail</th><th class=\"l\">NIC</th><th class=\"l\">leaf</th><th class=\"l\">devices</th><th class=\"l\">known from</th><th class=\"l\">bound in the environment</th></tr>", d.nics.len(), esc(d.nics.first().map_or("?", |u| u.known_from.as_str())));
    for u in &d.nics {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            esc(&u.host),
            u.rail,
            esc(&u.nic),
            esc(&u.leaf),
            u.devices.iter().map(|x| format!("dev{x}")).collect::<Vec<_>>().join(" "),
            esc(&u.known_from),
            esc(&u.bound.join(" "))
        );
    }
    h += "</table></details>\n</section>\n";
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::{judge_rails, Inputs};
    use std::collections::BTreeSet;
    use xccl_diag::rail_doc::{NicUse, RailLinksDoc, NIC_FROM_TOPOLOGY};
    use xccl_diag::rail_plan::{RailLinksReport, RailOptions, RailPlan};

    /// A rail topology of `n` nodes × 2 devices (device d on NIC d on leaf `rail{d}`),
    /// NICs 1 GB/s, intra 2 GB/s.
    pub fn topology(n: usize) -> String {
        let hosts: Vec<String> = (0..n).map(|k| format!("\"h{k}\"")).collect();
        format!(
            "version = 2\nname = \"t{n}\"\nhosts = [{}]\n[node]\ndevices = 2\n[node.fabric]\nkind = \"shm\"\nbw_gbs = 2.0\n[node.nic]\ncount = 2\nrate_gbps = 8.0\ntransport = \"tcp\"\ndevice_nic = [0, 1]\nnames = [\"eth0\", \"eth1\"]\n[[rails]]\nrails = 2\nleaf = \"rail{{rail}}\"\nparent = \"spine\"\nuplink_gbps = 64.0\n[[switch]]\nname = \"spine\"\ntier = 2\n",
            hosts.join(", ")
        )
    }

    /// A rail-links document of `n` nodes measured at 1 GB/s (intra 2 GB/s), but for
    /// `slow` (rail, node a, node b) at 0.3 GB/s; its outliers are those links, as `links`
    /// writes them.
    pub fn doc(n: usize, topo: &str, slow: &[(usize, usize, usize)]) -> RailLinksDoc {
        let plan = RailPlan::new(n, &[0, 1], RailOptions::default()).unwrap();
        let mut r = RailLinksReport::new(&plan, "mpi", 1 << 20, 5);
        for (phase, k, pairs) in plan.all_rounds() {
            for &(a, b) in pairs {
                let is_slow = slow.contains(&(
                    plan.rail_of(a),
                    plan.node_of(a).min(plan.node_of(b)),
                    plan.node_of(a).max(plan.node_of(b)),
                ));
                let g = if plan.node_of(a) == plan.node_of(b) {
                    2.0
                } else if is_slow && plan.rail_of(a) == plan.rail_of(b) {
                    0.3
                } else {
                    1.0
                };
                r.record(&plan, phase, k, (a, b), g, g, 5.0);
            }
        }
        r.outliers = slow
            .iter()
            .filter_map(|&(rail, a, b)| r.same_rail(&plan, rail, a, b))
            .collect();
        let hosts: Vec<String> = (0..n).map(|k| format!("h{k}")).collect();
        let nics = hosts
            .iter()
            .flat_map(|h| {
                (0..2).map(move |rail| NicUse {
                    host: h.clone(),
                    rail,
                    nic: format!("eth{rail}"),
                    leaf: format!("rail{rail}"),
                    devices: vec![rail],
                    ranks: vec![rail],
                    known_from: NIC_FROM_TOPOLOGY.into(),
                    bound: vec![],
                })
            })
            .collect();
        RailLinksDoc {
            report: r,
            topology: topo.into(),
            hosts,
            nics,
            threshold: 0.8,
            wall_s: 1.0,
            confirm_s: 0.0,
            rechecks: vec![],
            unconfirmed: vec![],
            findings: vec![],
        }
    }

    fn file(n: usize, slow: &[(usize, usize, usize)]) -> (RailLinksFile, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("xccl-report-rails-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = dir.join("t.toml");
        std::fs::write(&t, topology(n)).unwrap();
        let d = doc(n, &t.display().to_string(), slow);
        let j = dir.join("rails.json");
        std::fs::write(&j, serde_json::to_string(&d).unwrap()).unwrap();
        let mut inputs = Inputs::default();
        inputs.add_file(&j).unwrap();
        let f = inputs.rail_links.pop().unwrap();
        (f, dir)
    }

    /// (data-r, data-c) of the cells tagged low in heat map `id` of `h`.
    fn low_cells(h: &str, id: &str) -> BTreeSet<(usize, usize)> {
        let start = h.find(&format!("<svg id=\"{id}\"")).expect(id);
        let svg = &h[start..start + h[start..].find("</svg>").unwrap()];
        svg.split("<rect class=\"low\" ")
            .skip(1)
            .map(|s| {
                let num = |k: &str| -> usize {
                    let x = &s[s.find(k).unwrap() + k.len()..];
                    x[..x.find('"').unwrap()].parse().unwrap()
                };
                (num("data-r=\""), num("data-c=\""))
            })
            .collect()
    }

    #[test]
    fn one_heat_map_per_rail_whose_low_cells_are_the_files_outliers() {
        let (f, dir) = file(4, &[(1, 0, 2)]);
        assert!(f.judged.is_ok(), "{:?}", f.judged);
        let h = section(0, &f, &Options::default());
        for id in [
            "rail-links-0",
            "rail-findings-0",
            "rail-nics-0",
            "intra-map-0-0",
        ] {
            assert!(h.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(
            h.matches("class=\"plot rail-map\"").count(),
            2,
            "one per rail"
        );
        // The file's outliers, per rail, on both sides of the diagonal.
        for rail in 0..2 {
            let want: BTreeSet<(usize, usize)> = f
                .doc
                .report
                .outliers
                .iter()
                .filter(|o| o.rail_a == rail)
                .flat_map(|o| [(o.node_a, o.node_b), (o.node_b, o.node_a)])
                .collect();
            assert_eq!(
                low_cells(&h, &format!("rail-map-0-{rail}")),
                want,
                "rail {rail}"
            );
        }
        assert_eq!(f.doc.report.outliers.len(), 1);
        // Intra-node pairs at 2 GB/s of 2 expected: none low.
        assert!(low_cells(&h, "intra-map-0-0").is_empty());
        assert!(h.contains("<td class=\"l\">h3</td><td>1</td><td class=\"l\">eth1</td><td class=\"l\">rail1</td><td class=\"l\">dev1</td><td class=\"l\">topology affinity (device_nic)</td>"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn judged_links_agree_with_the_outliers_links_wrote() {
        let (f, dir) = file(6, &[(0, 1, 4), (1, 0, 5)]);
        let t = xccl_topo::Topology::load(dir.join("t.toml")).unwrap();
        let j = judge_rails(&f.doc, &t).unwrap();
        let n = 6;
        let low: BTreeSet<(usize, usize, usize)> = (0..2)
            .flat_map(|rail| {
                let j = &j;
                (0..n).flat_map(move |a| {
                    (a + 1..n).filter_map(move |b| {
                        j.rails[rail][tri_index(n, a, b)]
                            .filter(|x| x.1)
                            .map(|_| (rail, a, b))
                    })
                })
            })
            .collect();
        assert_eq!(low, BTreeSet::from([(0, 1, 4), (1, 0, 5)]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn large_clusters_are_drawn_in_blocks_with_their_low_links_kept() {
        let n = 200;
        let (f, dir) = file(n, &[(0, 3, 150)]);
        let h = section(0, &f, &Options::default());
        // 200 nodes in blocks of 5: 40 × 40 cells per rail map.
        assert!(
            h.contains("200 nodes shown as 40 blocks of up to 5 nodes"),
            "no block note"
        );
        assert_eq!(
            low_cells(&h, "rail-map-0-0"),
            BTreeSet::from([(0, 30), (30, 0)]),
            "nodes 3 and 150 are in blocks 0 and 30"
        );
        assert!(low_cells(&h, "rail-map-0-1").is_empty());
        // One combined intra map beyond MAX_NODE_MAPS nodes.
        assert!(h.contains("id=\"intra-map-0\""));
        assert!(h.len() < 2_000_000, "{} bytes", h.len());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
