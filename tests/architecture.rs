//! The import graph of the workspace (issue 15): no cycle between modules, the layering
//! of the runtime's layout, and no runtime file over 500 lines without a stated reason.
//!
//! Every crate's sources are parsed with `syn`: the runtime (src/lib.rs, and src/main.rs
//! beside it), analysis/*/src and sys/*/src. A node is a module: one per file, and one
//! per inline `mod x { … }` block. An edge A → B is a reference from A to an item of B:
//! a `use` (`pub use` re-exports included) or a path in code (`crate::diag::f(…)`,
//! `super::X`, `self::x::Y`, `child::f()`, `alias::Y` through a `use`d name, and such
//! paths inside macro calls), resolved to the longest prefix that is a module of the
//! crate.
//!
//! Ownership alone is no edge (`mod child;`), but every reference is one, up the tree as
//! well as down: a parent that uses or re-exports its child's items has an edge to it,
//! and a child that uses its parent's (`use super::Backend`, `crate::hccl_fn!`) one to
//! the parent, so the two together are a cycle. A `mod.rs` (or lib.rs) that names its
//! children and uses them therefore defines nothing they use: what they share lives in
//! a file of its own (`backend/mpi/ffi_util.rs`, `world/api.rs`, `cmd/parse.rs`). A
//! reference that goes through a name an ancestor binds by `use` is followed to where
//! that name comes from: `super::Average` where the parent says `pub use sweep::Average`
//! is an edge to `sweep`, and `crate::Thing` where lib.rs says `pub use a::Thing` one to
//! `a`. `#[cfg(test)]` and `#[test]` items are left out, visibility paths (`pub(crate)`)
//! and attributes too.
//!
//! Checks, all reported together:
//! 1. no cycle: each strongly connected component (Tarjan) of more than one module is
//!    printed with a shortest cycle through each of its modules, as files;
//! 2. [`LAYERS`]: which files may not refer to which modules (or crates);
//! 3. no file under src/ over [`MAX_LINES`] lines unless its module doc has a line
//!    starting with `//! One concern:` that says why it is one piece.
//!
//! On success it prints a summary (crates, modules, edges) to stderr (`--nocapture`).

use proc_macro2::{Spacing, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Longest runtime file (src/**) without a `//! One concern:` line.
const MAX_LINES: usize = 500;
const ONE_CONCERN: &str = "//! One concern:";

/// A layering rule: files whose path (from the repository root) starts with one of
/// `files` refer to none of `forbidden`: `crate::m` is module `m` of their own crate and
/// everything below it; a bare name (`xccl_bench`) is another crate.
struct Layer {
    files: &'static [&'static str],
    forbidden: &'static [&'static str],
    why: &'static str,
}

/// The layering of the runtime after the src/cmd/ refactor (issue 15). A rule whose
/// forbidden module does not exist holds trivially.
const LAYERS: &[Layer] = &[
    Layer {
        files: &["src/cmd/"],
        forbidden: &["crate::cli"],
        why: "a subcommand owns its arguments; the command line only dispatches to it",
    },
    Layer {
        files: &["src/output/", "src/harness/"],
        forbidden: &["crate::cmd", "crate::cli"],
        why: "the harness and the exporters serve every command and know none",
    },
    Layer {
        files: &["src/backend/"],
        forbidden: &[
            "crate::harness",
            "crate::cmd",
            "crate::cli",
            "crate::output",
            "crate::probe",
        ],
        why: "a backend runs one collective call; the harness drives it, not the reverse",
    },
    Layer {
        files: &["src/world.rs", "src/clock.rs", "src/error.rs"],
        forbidden: &[
            "crate::cmd",
            "crate::cli",
            "crate::harness",
            "crate::output",
            "crate::backend",
        ],
        why: "the bottom layer: launch, clock and errors depend on nothing above them",
    },
    Layer {
        files: &["analysis/"],
        forbidden: &["xccl_bench"],
        why: "the offline analysis does not depend on the runtime",
    },
];

/// What a name or path refers to: a path inside the crate (from its root), or another
/// crate (std, a dependency), or nothing known (a local item, a generic, a variable).
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Internal(Vec<String>),
    External(String),
}

#[derive(Debug)]
struct Module {
    /// Path from the crate root (`[]` for the root).
    path: Vec<String>,
    /// Relative to the repository root.
    file: String,
    /// `Some(name)` for an inline `mod name { … }` block.
    inline: Option<String>,
    /// The binary (src/main.rs): `xccl_bench::` is the crate's root for it.
    bin: bool,
    /// Modules declared in it (`mod x;` and `mod x { … }`).
    children: BTreeSet<String>,
    /// `use` trees, flattened: path, the name it binds (None for a glob).
    uses: Vec<(Vec<String>, Option<String>)>,
    /// Paths in code, each of two or more segments.
    paths: Vec<Vec<String>>,
    /// Names bound by `use`: name → what it refers to (filled by `resolve_aliases`).
    aliases: BTreeMap<String, Target>,
}

impl Module {
    fn label(&self) -> String {
        match &self.inline {
            Some(name) => format!("{} (mod {name})", self.file),
            None => self.file.clone(),
        }
    }
}

struct Crate {
    name: String,
    modules: Vec<Module>,
    /// Edge → the first reference that made it, as written.
    edges: BTreeMap<(usize, usize), String>,
    /// Other crates each module refers to, with the reference.
    externals: Vec<BTreeMap<String, String>>,
}

/// Whether a `#[cfg(…)]` predicate holds only under `cfg(test)`: `test` itself, or
/// `all(…)` with `test` among its terms.
fn test_only_pred(m: &syn::Meta) -> bool {
    match m {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::List(l) if l.path.is_ident("all") => l
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .map(|terms| terms.iter().any(test_only_pred))
            .unwrap_or(false),
        _ => false,
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("test")
            || (a.path().is_ident("cfg")
                && a.parse_args::<syn::Meta>()
                    .map(|m| test_only_pred(&m))
                    .unwrap_or(false))
    })
}

fn item_attrs(i: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match i {
        Const(x) => &x.attrs,
        Enum(x) => &x.attrs,
        ExternCrate(x) => &x.attrs,
        Fn(x) => &x.attrs,
        ForeignMod(x) => &x.attrs,
        Impl(x) => &x.attrs,
        Macro(x) => &x.attrs,
        Mod(x) => &x.attrs,
        Static(x) => &x.attrs,
        Struct(x) => &x.attrs,
        Trait(x) => &x.attrs,
        TraitAlias(x) => &x.attrs,
        Type(x) => &x.attrs,
        Union(x) => &x.attrs,
        Use(x) => &x.attrs,
        _ => &[],
    }
}

/// Collects the `use` trees and the paths of one module's own items.
#[derive(Default)]
struct Refs {
    uses: Vec<(Vec<String>, Option<String>)>,
    paths: Vec<Vec<String>>,
}

impl Refs {
    fn flatten_use(&mut self, prefix: &[String], t: &syn::UseTree) {
        let with = |s: &str| {
            let mut p = prefix.to_vec();
            p.push(s.to_string());
            p
        };
        match t {
            syn::UseTree::Path(p) => self.flatten_use(&with(&p.ident.to_string()), &p.tree),
            syn::UseTree::Name(n) if n.ident == "self" => {
                let name = prefix.last().cloned();
                self.uses.push((prefix.to_vec(), name));
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                self.uses.push((with(&name), Some(name)));
            }
            syn::UseTree::Rename(r) => {
                let p = if r.ident == "self" {
                    prefix.to_vec()
                } else {
                    with(&r.ident.to_string())
                };
                self.uses.push((p, Some(r.rename.to_string())));
            }
            syn::UseTree::Glob(_) => self.uses.push((prefix.to_vec(), None)),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.flatten_use(prefix, t);
                }
            }
        }
    }

    /// Paths written inside a macro call: `a::b::c` sequences of its tokens.
    fn scan_tokens(&mut self, ts: TokenStream) {
        let mut toks: Vec<Option<String>> = vec![]; // Some(ident), None for `::`
        let flush = |toks: &mut Vec<Option<String>>, this: &mut Refs| {
            let mut i = 0;
            while i < toks.len() {
                if let Some(first) = &toks[i] {
                    let mut p = vec![first.clone()];
                    let mut j = i + 1;
                    while j + 1 < toks.len() && toks[j].is_none() {
                        match &toks[j + 1] {
                            Some(s) => p.push(s.clone()),
                            None => break,
                        }
                        j += 2;
                    }
                    if p.len() >= 2 {
                        this.paths.push(p);
                    }
                    i = j.max(i + 1);
                } else {
                    i += 1;
                }
            }
            toks.clear();
        };
        let mut it = ts.into_iter().peekable();
        while let Some(t) = it.next() {
            match t {
                TokenTree::Ident(id) => toks.push(Some(id.to_string())),
                TokenTree::Punct(p)
                    if p.as_char() == ':'
                        && p.spacing() == Spacing::Joint
                        && matches!(it.peek(), Some(TokenTree::Punct(q)) if q.as_char() == ':') =>
                {
                    it.next();
                    toks.push(None);
                }
                TokenTree::Group(g) => {
                    flush(&mut toks, self);
                    self.scan_tokens(g.stream());
                }
                _ => flush(&mut toks, self),
            }
        }
        flush(&mut toks, self);
    }
}

impl<'ast> Visit<'ast> for Refs {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        if is_test_only(item_attrs(i)) {
            return;
        }
        match i {
            // A module of its own (or a module inside a function: none here).
            syn::Item::Mod(_) => {}
            syn::Item::Use(u) => self.flatten_use(&[], &u.tree),
            _ => syn::visit::visit_item(self, i),
        }
    }
    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        let attrs = match i {
            syn::ImplItem::Fn(f) => &f.attrs,
            syn::ImplItem::Const(c) => &c.attrs,
            syn::ImplItem::Type(t) => &t.attrs,
            _ => return syn::visit::visit_impl_item(self, i),
        };
        if !is_test_only(attrs) {
            syn::visit::visit_impl_item(self, i);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() >= 2 {
            self.paths
                .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        syn::visit::visit_macro(self, m);
        self.scan_tokens(m.tokens.clone());
    }
    // `pub(crate)`, `pub(in crate::x)`: visibility, not a reference.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
    // `#[derive(…)]`, `#[cfg(…)]`, doc strings: not references.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

fn rel(p: &Path) -> String {
    p.strip_prefix(REPO)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// Reads the modules of the crate whose root is `root` (and of `bin`, a binary of the same
/// package whose `xccl_bench::` paths lead into it).
fn load_crate(name: &str, root: &Path, bin: Option<&Path>) -> Crate {
    let mut modules = vec![];
    let src = std::fs::read_to_string(root).unwrap();
    let file = syn::parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    add_module(
        &mut modules,
        vec![],
        root,
        None,
        &file.items,
        root.parent().unwrap(),
        false,
    );
    if let Some(b) = bin {
        let src = std::fs::read_to_string(b).unwrap();
        let file = syn::parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
        add_module(
            &mut modules,
            vec!["main".to_string()],
            b,
            None,
            &file.items,
            b.parent().unwrap(),
            true,
        );
    }
    let mut c = Crate {
        name: name.to_string(),
        externals: modules.iter().map(|_| BTreeMap::new()).collect(),
        modules,
        edges: BTreeMap::new(),
    };
    resolve_aliases(&mut c);
    add_edges(&mut c);
    c
}

/// Adds the module at `path` (`file`, or an inline block of it) and its children,
/// depth first. `dir`: where its `mod x;` files are.
fn add_module(
    modules: &mut Vec<Module>,
    path: Vec<String>,
    file: &Path,
    inline: Option<String>,
    items: &[syn::Item],
    dir: &Path,
    bin: bool,
) {
    let mut refs = Refs::default();
    let mut children = BTreeSet::new();
    let mut subs = vec![];
    for item in items {
        if let syn::Item::Mod(m) = item {
            if is_test_only(&m.attrs) {
                continue;
            }
            let name = m.ident.to_string();
            children.insert(name.clone());
            subs.push(m);
        } else {
            refs.visit_item(item);
        }
    }
    modules.push(Module {
        path: path.clone(),
        file: rel(file),
        inline,
        bin,
        children,
        uses: refs.uses,
        paths: refs.paths,
        aliases: BTreeMap::new(),
    });
    for m in subs {
        let name = m.ident.to_string();
        let mut child = path.clone();
        child.push(name.clone());
        let explicit = m.attrs.iter().find_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        if let Some((_, items)) = &m.content {
            add_module(
                modules,
                child,
                file,
                Some(name.clone()),
                items,
                &dir.join(&name),
                bin,
            );
            continue;
        }
        let f = match explicit {
            Some(p) => file.parent().unwrap().join(p),
            None => {
                let flat = dir.join(format!("{name}.rs"));
                if flat.exists() {
                    flat
                } else {
                    dir.join(&name).join("mod.rs")
                }
            }
        };
        let src = std::fs::read_to_string(&f)
            .unwrap_or_else(|e| panic!("mod {name} of {}: {}: {e}", file.display(), f.display()));
        let parsed = syn::parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // Children of a mod.rs (or of a #[path] file) live beside it; of x.rs, in x/.
        let sub_dir = if f.file_name().unwrap() == "mod.rs" {
            f.parent().unwrap().to_path_buf()
        } else {
            f.with_extension("")
        };
        add_module(modules, child, &f, None, &parsed.items, &sub_dir, bin);
    }
}

fn find(c: &Crate, path: &[String]) -> Option<usize> {
    c.modules.iter().position(|m| !m.bin && m.path == path)
}

/// Where `segs`, written in module `at`, leads: an absolute path in the crate or another
/// crate; None when its first segment names nothing known (a local item, a variable).
fn absolute(c: &Crate, at: usize, segs: &[String]) -> Option<Target> {
    let m = &c.modules[at];
    let first = segs[0].as_str();
    let (base, rest): (Vec<String>, &[String]) = match first {
        "crate" if !m.bin => (vec![], &segs[1..]),
        "xccl_bench" if m.bin => (vec![], &segs[1..]),
        "self" => (m.path.clone(), &segs[1..]),
        "super" => {
            let mut p = m.path.clone();
            let mut k = 0;
            while segs.get(k).map(String::as_str) == Some("super") {
                p.pop();
                k += 1;
            }
            (p, &segs[k..])
        }
        _ => match m.aliases.get(first) {
            Some(Target::Internal(p)) => (p.clone(), &segs[1..]),
            Some(Target::External(e)) => return Some(Target::External(e.clone())),
            None if m.children.contains(first) => {
                let mut p = m.path.clone();
                p.push(first.to_string());
                (p, &segs[1..])
            }
            None => return Some(Target::External(first.to_string())),
        },
    };
    let mut p = base;
    p.extend(rest.iter().cloned());
    Some(Target::Internal(p))
}

/// The module an absolute path, written in the module at `from`, lands in: its longest
/// prefix that is a module, followed through the names that module binds by `use` when
/// it is `from` or one of its ancestors.
fn module_of(c: &Crate, from: &[String], path: &[String], depth: usize) -> Option<Target> {
    let k = (0..=path.len())
        .rev()
        .find(|&k| find(c, &path[..k]).is_some())?;
    let (home, next) = (&path[..k], path.get(k));
    if let Some(next) = next.filter(|_| from.starts_with(home) && depth < 8) {
        let m = &c.modules[find(c, home).unwrap()];
        if let Some(t) = m.aliases.get(next) {
            return match t {
                Target::Internal(p) => {
                    let mut p = p.clone();
                    p.extend(path[k + 1..].iter().cloned());
                    module_of(c, from, &p, depth + 1)
                }
                Target::External(e) => Some(Target::External(e.clone())),
            };
        }
    }
    Some(Target::Internal(home.to_vec()))
}

/// Fills each module's `aliases` from its `use`s (twice: a `use` may go through a name
/// another one binds).
fn resolve_aliases(c: &mut Crate) {
    for _ in 0..2 {
        for i in 0..c.modules.len() {
            let mut found = BTreeMap::new();
            for (p, name) in &c.modules[i].uses {
                if let (Some(name), Some(t)) = (name, absolute(c, i, p)) {
                    if name != "_" {
                        found.insert(name.clone(), t);
                    }
                }
            }
            c.modules[i].aliases = found;
        }
    }
}

fn add_edges(c: &mut Crate) {
    for i in 0..c.modules.len() {
        let m = &c.modules[i];
        let refs: Vec<(Vec<String>, String)> = m
            .uses
            .iter()
            .map(|(p, name)| {
                let shown = if name.is_none() {
                    format!("use {}::*", p.join("::"))
                } else {
                    format!("use {}", p.join("::"))
                };
                (p.clone(), shown)
            })
            .chain(m.paths.iter().map(|p| (p.clone(), p.join("::"))))
            .collect();
        for (p, shown) in refs {
            if p.is_empty() {
                continue;
            }
            let Some(t) = absolute(c, i, &p) else {
                continue;
            };
            let t = match t {
                Target::Internal(abs) => module_of(c, &m.path, &abs, 0),
                e => Some(e),
            };
            match t {
                // Itself: no edge. An ancestor is one (see the module doc).
                Some(Target::Internal(to)) if m.path == to => {}
                Some(Target::Internal(to)) => {
                    let j = find(c, &to).unwrap();
                    c.edges.entry((i, j)).or_insert(shown);
                }
                Some(Target::External(e)) => {
                    c.externals[i].entry(e).or_insert(shown);
                }
                None => {}
            }
        }
    }
}

/// Tarjan's strongly connected components.
fn sccs(n: usize, edges: &BTreeMap<(usize, usize), String>) -> Vec<Vec<usize>> {
    let mut adj = vec![vec![]; n];
    for &(a, b) in edges.keys() {
        adj[a].push(b);
    }
    struct T<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for k in 0..t.adj[v].len() {
            let w = t.adj[v][k];
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = vec![];
            loop {
                let w = t.stack.pop().unwrap();
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            comp.sort();
            t.out.push(comp);
        }
    }
    let mut t = T {
        adj: &adj,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: vec![],
        next: 0,
        out: vec![],
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// A shortest cycle from `start` back to it, inside `comp`.
fn shortest_cycle(
    start: usize,
    comp: &[usize],
    edges: &BTreeMap<(usize, usize), String>,
) -> Vec<usize> {
    let inside: BTreeSet<usize> = comp.iter().copied().collect();
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut q = VecDeque::from([start]);
    while let Some(v) = q.pop_front() {
        for (&(a, b), _) in edges.range((v, 0)..=(v, usize::MAX)) {
            debug_assert_eq!(a, v);
            if !inside.contains(&b) {
                continue;
            }
            if b == start {
                let mut path = vec![v];
                let mut x = v;
                while x != start {
                    x = prev[&x];
                    path.push(x);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(b) {
                e.insert(v);
                q.push_back(b);
            }
        }
    }
    unreachable!("{start} is in a component of more than one module")
}

/// Problems of one crate: its cycles and the layering rules its files break.
fn check_crate(c: &Crate, out: &mut Vec<String>) {
    let label = |i: usize| c.modules[i].label();
    for comp in sccs(c.modules.len(), &c.edges) {
        if comp.len() < 2 {
            continue;
        }
        let mut s = format!(
            "cycle in {} ({} modules: {}):",
            c.name,
            comp.len(),
            comp.iter()
                .map(|&i| label(i))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut seen = BTreeSet::new();
        for &start in &comp {
            let cyc = shortest_cycle(start, &comp, &c.edges);
            // Once per cycle, whichever module it was found from.
            let mut key = cyc.clone();
            key.sort();
            if !seen.insert((key, cyc.len())) {
                continue;
            }
            let mut line: Vec<String> = cyc.iter().map(|&i| label(i)).collect();
            line.push(label(cyc[0]));
            let why: Vec<String> = cyc
                .iter()
                .enumerate()
                .map(|(k, &a)| {
                    let b = cyc[(k + 1) % cyc.len()];
                    format!("`{}`", c.edges[&(a, b)])
                })
                .collect();
            s += &format!("\n    {}   [{}]", line.join(" → "), why.join(", "));
        }
        out.push(s);
    }
    for layer in LAYERS {
        for (i, m) in c.modules.iter().enumerate() {
            if !layer.files.iter().any(|f| m.file.starts_with(f)) {
                continue;
            }
            for f in layer.forbidden {
                if let Some(inner) = f.strip_prefix("crate::") {
                    let want: Vec<String> = inner.split("::").map(String::from).collect();
                    for ((a, b), shown) in c.edges.range((i, 0)..=(i, usize::MAX)) {
                        debug_assert_eq!(*a, i);
                        let to = &c.modules[*b];
                        if !to.bin && to.path.starts_with(&want) {
                            out.push(format!(
                                "layering: {} refers to {f} (`{shown}`, in {}): {}",
                                m.label(),
                                to.label(),
                                layer.why
                            ));
                        }
                    }
                } else if let Some(shown) = c.externals[i].get(*f) {
                    out.push(format!(
                        "layering: {} refers to crate {f} (`{shown}`): {}",
                        m.label(),
                        layer.why
                    ));
                }
            }
        }
    }
}

/// Files under src/ longer than [`MAX_LINES`] without a `//! One concern:` line.
fn check_sizes(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            check_sizes(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            let n = text.lines().count();
            let reason = text
                .lines()
                .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
                .any(|l| l.starts_with(ONE_CONCERN));
            if n > MAX_LINES && !reason {
                out.push(format!(
                    "size: {} has {n} lines (over {MAX_LINES}) and no `{ONE_CONCERN}` line in its module doc",
                    rel(&p)
                ));
            }
        }
    }
}

/// Crates under analysis/ that name the runtime package as a dependency.
fn check_manifests(out: &mut Vec<String>) {
    for dir in sorted_dirs(&Path::new(REPO).join("analysis")) {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        for l in text.lines() {
            let t = l.trim_start();
            if t.starts_with("xccl-bench ")
                || t.starts_with("xccl-bench=")
                || t.starts_with("xccl-bench.")
                || t.contains("package = \"xccl-bench\"")
            {
                out.push(format!(
                    "layering: {} depends on the runtime: `{}`",
                    rel(&manifest),
                    l.trim()
                ));
            }
        }
    }
}

fn sorted_dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn workspace() -> Vec<Crate> {
    let repo = Path::new(REPO);
    let mut crates = vec![load_crate(
        "xccl-bench",
        &repo.join("src/lib.rs"),
        Some(&repo.join("src/main.rs")),
    )];
    for group in ["analysis", "sys"] {
        for dir in sorted_dirs(&repo.join(group)) {
            let lib = dir.join("src/lib.rs");
            if lib.exists() {
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                crates.push(load_crate(&name, &lib, None));
            }
        }
    }
    crates
}

#[test]
fn import_graph_has_no_cycle_keeps_the_layers_and_short_files() {
    let crates = workspace();
    let mut problems = vec![];
    for c in &crates {
        check_crate(c, &mut problems);
    }
    check_sizes(&Path::new(REPO).join("src"), &mut problems);
    check_manifests(&mut problems);
    assert!(
        problems.is_empty(),
        "{} problem(s) in the import graph:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let (mut modules, mut edges) = (0, 0);
    for c in &crates {
        eprintln!(
            "  {:<12} {:>3} modules {:>4} edges",
            c.name,
            c.modules.len(),
            c.edges.len()
        );
        modules += c.modules.len();
        edges += c.edges.len();
    }
    eprintln!(
        "import graph: {} crates, {modules} modules, {edges} edges; no cycle, layers kept, \
         no file under src/ over {MAX_LINES} lines without a reason",
        crates.len()
    );
}

/// The checker on a small graph of its own: a cycle, paths in macros, names followed
/// through an ancestor's `use` and the root's re-export, an edge up to an ancestor, test
/// code, visibility and a local variable named like a module left out.
#[test]
fn the_checker_sees_what_it_should() {
    let dir = std::env::temp_dir().join(format!("xccl-arch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    let w = |p: &str, s: &str| std::fs::write(dir.join(p), s).unwrap();
    w(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub use c::Thing;\n",
    );
    // a → a::inner (re-export of a child), a → b (in a macro), a → c.
    w(
        "a/mod.rs",
        "pub mod inner;\npub use inner::g;\nuse crate::c::Other;\n\
         pub(crate) fn f() { println!(\"{}\", crate::b::h()); }\n",
    );
    // Up to a: a::inner → a (`super::f`); through a's `use`: a::inner → c.
    w(
        "a/inner.rs",
        "use super::*;\npub fn g() { super::f(); super::Other::new(); }\n",
    );
    // b → c through the root's re-export, b → a; test code and a variable `a`: nothing.
    w(
        "b.rs",
        "use crate::Thing;\npub fn h() -> u8 { crate::a::f(); let a = 1; a }\n\
         #[cfg(test)]\nmod tests { use crate::a::inner::g; }\n\
         #[cfg(all(test, unix))]\nfn t() { crate::a::inner::g() }\n",
    );
    w("c.rs", "pub struct Thing;\npub struct Other;\n");
    let c = load_crate("toy", &dir.join("lib.rs"), None);
    let name = |i: usize| c.modules[i].path.join("::");
    let edges: BTreeSet<(String, String)> =
        c.edges.keys().map(|&(a, b)| (name(a), name(b))).collect();
    let want: BTreeSet<(String, String)> = [
        ("", "c"),
        ("a", "a::inner"),
        ("a", "b"),
        ("a", "c"),
        ("a::inner", "a"),
        ("a::inner", "c"),
        ("b", "a"),
        ("b", "c"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, want);
    let mut problems = vec![];
    check_crate(&c, &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("cycle in toy (3 modules")
            && problems[0].contains("a/mod.rs → ")
            && problems[0].contains("a/inner.rs → ")
            && problems[0].contains("b.rs → "),
        "{}",
        problems[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
