//! Charts as inline SVG, drawn by `plotters`' SVG backend: lines over message size (log
//! x), optionally log y, dashed reference lines and shaded bands. Text is written as SVG
//! `<text>` for the browser to lay out, so no font is needed here. The `xmlns` attribute
//! is dropped: inline `<svg>` in HTML5 needs none, and the report then holds no `http`
//! string at all.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line of a chart.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Index into the palette (same run, same colour across charts).
    pub color: usize,
    /// Reference lines (expected, 0.8×) are dashed.
    pub dashed: bool,
}

/// A shaded band between two curves over the same x (p50..p99).
pub struct Band {
    pub lower: Vec<(f64, f64)>,
    pub upper: Vec<(f64, f64)>,
    pub color: usize,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub log_y: bool,
    pub lines: Vec<Line>,
    pub bands: Vec<Band>,
}

pub fn color(i: usize) -> RGBColor {
    // Colour-blind-safe (Okabe–Ito) first, the plotters palette after.
    const OKABE_ITO: [(u8, u8, u8); 7] = [
        (0, 114, 178),
        (213, 94, 0),
        (0, 158, 115),
        (204, 121, 167),
        (230, 159, 0),
        (86, 180, 233),
        (0, 0, 0),
    ];
    match OKABE_ITO.get(i) {
        Some(&(r, g, b)) => RGBColor(r, g, b),
        None => {
            let c = Palette99::pick(i).to_rgba();
            RGBColor(c.0, c.1, c.2)
        }
    }
}

/// A byte count as the axis shows it: 8, 1K, 64K, 1M, 2G.
pub fn size_label(b: f64) -> String {
    let b = b.round() as u64;
    for (unit, s) in [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")] {
        if b >= unit && b.is_multiple_of(unit) {
            return format!("{}{s}", b / unit);
        }
    }
    b.to_string()
}

/// A tick value as the axis shows it. `span` is the linear axis's extent (0 on a log
/// axis, whose ticks are powers): the labels get as many decimals as the tick spacing
/// (about a tenth of the span) needs, so that neighbouring ticks never print alike.
fn value_label(v: f64, span: f64) -> String {
    let a = v.abs();
    let needed = if span > 0.0 {
        (-(span / 10.0).log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        0
    };
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 || (a < 0.01 && span == 0.0) {
        format!("{v:.0e}")
    } else {
        let usual = if a >= 10.0 { 0 } else { 2 };
        format!("{v:.*}", usual.max(needed))
    }
}

fn bounds<'a>(
    pts: impl Iterator<Item = &'a (f64, f64)>,
    log_y: bool,
) -> Option<(f64, f64, f64, f64)> {
    let mut b: Option<(f64, f64, f64, f64)> = None;
    for &(x, y) in pts {
        if !(x.is_finite() && y.is_finite()) || x <= 0.0 || (log_y && y <= 0.0) {
            continue;
        }
        b = Some(match b {
            None => (x, x, y, y),
            Some((x0, x1, y0, y1)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y)),
        });
    }
    b
}

/// The chart as an `<svg>` element, or why it could not be drawn.
pub fn render(c: &Chart, size: (u32, u32)) -> Result<String, String> {
    let all = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .chain(c.bands.iter().flat_map(|b| b.lower.iter().chain(&b.upper)));
    let (x0, mut x1, mut y0, mut y1) = bounds(all, c.log_y).ok_or("no data to plot")?;
    if x1 <= x0 {
        x1 = x0 * 2.0;
    }
    if c.log_y {
        // A little room above and below, in log space.
        y0 /= 1.3;
        y1 *= 1.3;
    } else {
        let pad = ((y1 - y0) * 0.1).max(y1.abs() * 0.05).max(1e-9);
        y0 -= pad;
        y1 += pad;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x = (x0..x1).log_scale();
        if c.log_y {
            draw(&root, c, x, (y0..y1).log_scale(), 0.0)?;
        } else {
            draw(&root, c, x, y0..y1, y1 - y0)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1))
}

fn draw<X, Y>(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    c: &Chart,
    x: X,
    y: Y,
    y_span: f64,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    let mut chart = ChartBuilder::on(root)
        .caption(c.title, ("sans-serif", 18))
        .margin(12)
        .margin_right(36)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(c.x_desc)
        .y_desc(c.y_desc)
        .x_label_formatter(&|v| size_label(*v))
        .y_label_formatter(&|v| value_label(*v, y_span))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(e)?;
    for b in &c.bands {
        let mut pts = b.upper.clone();
        pts.extend(b.lower.iter().rev());
        chart
            .draw_series(std::iter::once(Polygon::new(
                pts,
                color(b.color).mix(0.18).filled(),
            )))
            .map_err(e)?;
    }
    let mut labelled = false;
    for l in &c.lines {
        let col = color(l.color);
        let style = col.stroke_width(2);
        let anno = if l.dashed {
            chart
                .draw_series(DashedLineSeries::new(l.points.clone(), 6, 4, style))
                .map_err(e)?
        } else {
            chart
                .draw_series(LineSeries::new(l.points.clone(), style).point_size(2))
                .map_err(e)?
        };
        if !l.label.is_empty() {
            labelled = true;
            anno.label(l.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
            });
        }
    }
    if labelled {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// A heat map of a square matrix: `cells` (row, column, value, marked) over `names` on
/// both axes, coloured by [`heat`] around `threshold`; each cell shows its value, marked
/// cells (low links) get a thick black frame and a `LOW` tag.
pub struct Heat<'a> {
    pub title: &'a str,
    pub names: &'a [String],
    pub cells: Vec<(usize, usize, f64, bool)>,
    pub threshold: f64,
}

/// Red below `threshold` (darker the lower), yellow at it, green from 1 on.
pub fn heat(v: f64, threshold: f64) -> RGBColor {
    let lerp = |a: (f64, f64, f64), b: (f64, f64, f64), t: f64| {
        let t = t.clamp(0.0, 1.0);
        RGBColor(
            (a.0 + (b.0 - a.0) * t) as u8,
            (a.1 + (b.1 - a.1) * t) as u8,
            (a.2 + (b.2 - a.2) * t) as u8,
        )
    };
    let (red, yellow, green) = (
        (200.0, 30.0, 40.0),
        (250.0, 220.0, 90.0),
        (60.0, 170.0, 90.0),
    );
    if v < threshold {
        lerp(red, yellow, v / threshold)
    } else {
        lerp(yellow, green, (v - threshold) / (1.0 - threshold).max(1e-9))
    }
}

pub fn render_heat(h: &Heat, size: (u32, u32)) -> Result<String, String> {
    let n = h.names.len();
    if n == 0 || h.cells.is_empty() {
        return Err("no data to plot".into());
    }
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let names = h.names;
        let mut chart = ChartBuilder::on(&root)
            .caption(h.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(130)
            .build_cartesian_2d(0..n as i32, 0..n as i32)
            .map_err(e)?;
        // No mesh: plotters' integer key points are cell edges, not centres (and zero
        // labels overflow its i32 key-point search), so the names are drawn below.
        // Names drawn here, centred on their row and column (row 0 on top: row r is
        // drawn at y = n−1−r).
        let area = chart.plotting_area().clone();
        let centre = |x: i32, y: i32| {
            let (a, b) = area.map_coordinate(&(x, y + 1));
            let (c, d) = area.map_coordinate(&(x + 1, y));
            ((a + c) / 2, (b + d) / 2)
        };
        let (left, bottom) = area.map_coordinate(&(0, 0));
        for (i, name) in names.iter().enumerate() {
            let (cx, _) = centre(i as i32, 0);
            root.draw(&Text::new(
                name.clone(),
                (cx, bottom + 6),
                anchored(12, HPos::Center, VPos::Top),
            ))
            .map_err(e)?;
            let (_, cy) = centre(0, (n - 1 - i) as i32);
            root.draw(&Text::new(
                name.clone(),
                (left - 6, cy),
                anchored(12, HPos::Right, VPos::Center),
            ))
            .map_err(e)?;
        }
        for &(r, c, v, marked) in &h.cells {
            let (x, y) = (c as i32, (n - 1 - r) as i32);
            let fill = heat(v, h.threshold).filled();
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1, y + 1)],
                    fill,
                )))
                .map_err(e)?;
            if marked {
                let mut frame = Rectangle::new([(x, y), (x + 1, y + 1)], BLACK.stroke_width(3));
                frame.set_margin(2, 2, 2, 2);
                chart.draw_series(std::iter::once(frame)).map_err(e)?;
            }
            let label = if marked {
                format!("{v:.2} LOW")
            } else {
                format!("{v:.2}")
            };
            root.draw(&Text::new(
                label,
                centre(x, y),
                anchored(13, HPos::Center, VPos::Center),
            ))
            .map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1))
}

fn anchored(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(h, v))
}

/// A measured step: (median, min, max).
pub type Measured = (f64, f64, f64);

/// Predicted beside measured per category (layout): one pair of bars each, the measured
/// bar with its min..max whisker, and the error above the pair.
pub struct Bars<'a> {
    pub title: &'a str,
    pub y_desc: &'a str,
    /// (category, predicted, measured: (median, min, max)), measured absent when only
    /// predicted.
    pub groups: Vec<(String, f64, Option<Measured>)>,
}

pub fn render_bars(b: &Bars, size: (u32, u32)) -> Result<String, String> {
    let n = b.groups.len();
    let top = b
        .groups
        .iter()
        .map(|g| g.1.max(g.2.map_or(0.0, |m| m.2)))
        .fold(0.0, f64::max);
    if n == 0 || !(top > 0.0 && top.is_finite()) {
        return Err("no data to plot".into());
    }
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(b.title, ("sans-serif", 18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, 0.0..top * 1.2)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2)
            .x_label_formatter(&|_| String::new())
            .y_desc(b.y_desc)
            .y_label_formatter(&|v| value_label(*v, top * 1.2))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        let (pc, mc) = (color(0), color(1));
        for (i, (name, pred, meas)) in b.groups.iter().enumerate() {
            let x = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.15, 0.0), (x + 0.5, *pred)],
                    pc.filled(),
                )))
                .map_err(e)?;
            let mut head = *pred;
            if let Some((m, lo, hi)) = *meas {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x + 0.5, 0.0), (x + 0.85, m)],
                        mc.filled(),
                    )))
                    .map_err(e)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x + 0.675, lo), (x + 0.675, hi)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(e)?;
                head = head.max(hi);
                let err = 100.0 * (pred - m) / m;
                let area = chart.plotting_area();
                let p = area.map_coordinate(&(x + 0.5, head));
                root.draw(&Text::new(
                    format!("error {err:+.1}%"),
                    (p.0, p.1 - 6),
                    anchored(13, HPos::Center, VPos::Bottom),
                ))
                .map_err(e)?;
            }
            let area = chart.plotting_area();
            let p = area.map_coordinate(&(x + 0.5, 0.0));
            root.draw(&Text::new(
                name.clone(),
                (p.0, p.1 + 6),
                anchored(12, HPos::Center, VPos::Top),
            ))
            .map_err(e)?;
        }
        // Legend by hand: two swatches.
        for (k, (label, c)) in [("predicted", pc), ("measured (median, min..max)", mc)]
            .into_iter()
            .enumerate()
        {
            let y = 40 + 18 * k as i32;
            let x = size.0 as i32 - 260;
            root.draw(&Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()))
                .map_err(e)?;
            root.draw(&Text::new(
                label,
                (x + 20, y),
                anchored(12, HPos::Left, VPos::Center),
            ))
            .map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_ticks_never_print_alike() {
        // The report's step-time axis once read "0.04, 0.04, 0.03, 0.03, 0.01, 0.01":
        // ticks 0.005 apart with two decimals.
        let ticks: Vec<String> = (2..=8)
            .map(|k| value_label(k as f64 * 0.005, 0.042))
            .collect();
        let mut distinct = ticks.clone();
        distinct.dedup();
        assert_eq!(distinct, ticks, "{ticks:?}");
        assert_eq!(ticks[0], "0.010");
        // Whole numbers stay whole where the spacing allows; log axes keep powers.
        assert_eq!(value_label(40.0, 48.0), "40");
        assert_eq!(value_label(0.001, 0.0), "1e-3");
        // And in a drawn chart: every y tick label of a bar chart differs.
        let b = Bars {
            title: "t",
            y_desc: "step time (s)",
            groups: vec![("a".into(), 0.012, Some((0.037, 0.035, 0.038)))],
        };
        let svg = render_bars(&b, (640, 360)).unwrap();
        let labels: Vec<&str> = svg
            .split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .map(str::trim)
            .filter(|t| t.starts_with("0."))
            .collect();
        assert!(labels.len() >= 4, "{labels:?}");
        let mut d = labels.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), labels.len(), "{labels:?}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_label(8.0), "8");
        assert_eq!(size_label(1024.0), "1K");
        assert_eq!(size_label(3.0 * 1048576.0), "3M");
        assert_eq!(size_label(1536.0), "1536");
        assert_eq!(size_label(2.0 * 1073741824.0), "2G");
    }

    #[test]
    fn chart_is_inline_svg_without_namespace_url() {
        let c = Chart {
            title: "t",
            x_desc: "size",
            y_desc: "GB/s",
            log_y: true,
            lines: vec![Line {
                label: "run".into(),
                points: vec![(8.0, 0.1), (1024.0, 1.0), (1048576.0, 10.0)],
                color: 0,
                dashed: false,
            }],
            bands: vec![Band {
                lower: vec![(8.0, 0.05), (1048576.0, 5.0)],
                upper: vec![(8.0, 0.2), (1048576.0, 20.0)],
                color: 0,
            }],
        };
        let svg = render(&c, (640, 360)).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(!svg.contains("http"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(svg.contains("<polygon"));
        assert!(svg.contains(">\nrun\n</text>"), "legend label");
        let empty = Chart {
            lines: vec![],
            bands: vec![],
            ..c
        };
        assert_eq!(render(&empty, (10, 10)).unwrap_err(), "no data to plot");
    }
}
