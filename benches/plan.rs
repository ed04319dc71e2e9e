//! `deploy plan -refresh=false` on generated stacks of 1,000 and 10,000 jobs in a binary-tree
//! dependency shape, against an empty state (every job created) and a matching state (no-op).
//! Measures the library path the command takes after loading: graph, planner, text view.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use deploy::graph::StackGraph;
use deploy::plan::{PlanOptions, TextOptions, plan, render_text};

#[path = "support/generate.rs"]
mod generate;

fn bench_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_refresh_false");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let stack = generate::tree_stack(n);
        let state = generate::matching_state(&stack);
        let options = PlanOptions::default();
        group.bench_with_input(BenchmarkId::new("empty_state", n), &n, |b, _| {
            b.iter(|| {
                let graph = StackGraph::build(&stack).expect("tree has no cycle");
                let p = plan(&stack, &graph, None, None, &options).expect("plan");
                render_text(&p, &TextOptions::default()).len()
            })
        });
        group.bench_with_input(BenchmarkId::new("matching_state", n), &n, |b, _| {
            b.iter(|| {
                let graph = StackGraph::build(&stack).expect("tree has no cycle");
                let p = plan(&stack, &graph, Some(&state), None, &options).expect("plan");
                render_text(&p, &TextOptions::default()).len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
