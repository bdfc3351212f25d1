//! The generated router vs `matchit` on every route of GitHub's REST description
//! (`../shared/corpora/specs/github-api.github.com.json`): the same lookups, hits (every
//! template with its parameters filled in, with its own method) and misses (an unknown
//! first segment, an extra trailing segment, a method the path does not have).
//!
//! Both sides start from the path string: specgate splits it into segments (as the gateway
//! does) and runs the generated decision tree; matchit walks its radix tree and then picks
//! the method.
//!
//! `cargo bench -p specgate-codegen-tests --bench router`

use criterion::{criterion_group, criterion_main, Criterion};

#[cfg(github_corpus)]
mod github {
    use criterion::Criterion;
    use specgate_codegen_tests::bench_github_routes::{route, ROUTES};
    use specgate_runtime::http::Method;
    use specgate_runtime::path;
    use std::collections::BTreeMap;
    use std::hint::black_box;

    /// A concrete path for a template: `{owner}` → `owner-1`.
    fn fill(template: &str) -> String {
        template
            .split('/')
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => format!("{name}-1"),
                    None => s.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }

    /// matchit wants one name per position; GitHub uses different names at the same place
    /// (`{org}` / `{owner}`), so parameters are renamed by position.
    fn matchit_template(template: &str) -> String {
        template
            .split('/')
            .enumerate()
            .map(|(i, s)| {
                if s.starts_with('{') {
                    format!("{{p{i}}}")
                } else {
                    s.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn specgate_lookup(method: &Method, p: &str) -> Option<usize> {
        let segs = path::segments(p);
        route(method, &segs)
    }

    pub fn bench(c: &mut Criterion) {
        // matchit: path → (method → template).
        let mut by_path: BTreeMap<String, Vec<(Method, usize)>> = BTreeMap::new();
        for (id, (m, t)) in ROUTES.iter().enumerate() {
            by_path
                .entry(matchit_template(t))
                .or_default()
                .push((m.parse().unwrap(), id));
        }
        let mut router = matchit::Router::new();
        for (p, methods) in &by_path {
            router.insert(p.clone(), methods.clone()).unwrap();
        }
        let matchit_lookup = |method: &Method, p: &str| -> Option<usize> {
            let found = router.at(p).ok()?;
            found
                .value
                .iter()
                .find(|(m, _)| m == method)
                .map(|(_, id)| *id)
        };

        let mut lookups: Vec<(Method, String)> = Vec::new();
        for (m, t) in ROUTES {
            lookups.push((m.parse().unwrap(), fill(t)));
        }
        let hits = lookups.len();
        for (_, t) in ROUTES.iter().step_by(3) {
            lookups.push((Method::GET, format!("/nowhere{}", fill(t))));
            lookups.push((Method::GET, format!("{}/extra-segment", fill(t))));
            lookups.push((Method::TRACE, fill(t)));
        }
        // Both must answer every lookup the same way.
        let mut disagree = 0;
        for (m, p) in &lookups {
            let a = specgate_lookup(m, p).map(|id| ROUTES[id]);
            let b = matchit_lookup(m, p).map(|id| ROUTES[id]);
            if a != b {
                disagree += 1;
                eprintln!("{m} {p}: specgate {a:?}, matchit {b:?}");
            }
        }
        println!(
            "{} routes, {} lookups ({hits} hits, {} misses), {disagree} answered differently",
            ROUTES.len(),
            lookups.len(),
            lookups.len() - hits
        );
        let mut g = c.benchmark_group("router");
        g.throughput(criterion::Throughput::Elements(lookups.len() as u64));
        g.bench_function("specgate (split + generated tree)", |b| {
            b.iter(|| {
                lookups
                    .iter()
                    .filter_map(|(m, p)| specgate_lookup(m, black_box(p)))
                    .sum::<usize>()
            })
        });
        // The same lookups with the paths split beforehand: the decision tree alone.
        let split: Vec<(Method, Vec<&str>)> = lookups
            .iter()
            .map(|(m, p)| (m.clone(), path::segments(p).to_vec()))
            .collect();
        g.bench_function("specgate (generated tree only)", |b| {
            b.iter(|| {
                split
                    .iter()
                    .filter_map(|(m, s)| route(m, black_box(s)))
                    .sum::<usize>()
            })
        });
        g.bench_function("matchit", |b| {
            b.iter(|| {
                lookups
                    .iter()
                    .filter_map(|(m, p)| matchit_lookup(m, black_box(p)))
                    .sum::<usize>()
            })
        });
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    #[cfg(github_corpus)]
    github::bench(c);
    #[cfg(not(github_corpus))]
    let _ = c;
}

criterion_group!(router, benches);
criterion_main!(router);
