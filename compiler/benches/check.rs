//! `specgate check` cost: the whole front half (load → lower → check) on GitHub's REST
//! description (13 MB, 1223 operations) and on a small spec.
//!
//! `cargo bench -p specgate --bench check`

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let github = root.join("../shared/corpora/specs/github-api.github.com.json");
    let mut g = c.benchmark_group("check");
    if github.exists() {
        g.sample_size(10).measurement_time(Duration::from_secs(10));
        g.bench_function("github-api (13 MB JSON)", |b| {
            b.iter(|| specgate::analyze_file(&github).unwrap())
        });
    }
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    let pet = root.join("specs/petstore-rest.yaml");
    g.bench_function("petstore-rest (YAML)", |b| {
        b.iter(|| specgate::analyze_file(&pet).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
