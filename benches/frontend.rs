//! Front-end throughput: parse + evaluate + decode a generated stack of small jobs, in one
//! text, and as a stack directory of one file per job (the usual layout), where the cost per
//! file must stay flat as files are added.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn small_job(i: usize) -> String {
    format!(
        r#"job "svc-{i}" {{
  datacenters = ["dc1"]
  type        = "service"
  meta {{
    index = "{i}"
  }}
  constraint {{
    attribute = "${{attr.kernel.name}}"
    value     = "linux"
  }}
  group "app" {{
    count = 2
    network {{
      port "http" {{
        to = 8080
      }}
    }}
    restart {{
      attempts = 3
      interval = "5m"
      delay    = "15s"
      mode     = "delay"
    }}
    task "server" {{
      driver = "docker"
      config {{
        image = "${{var.image}}:{i}"
        ports = ["http"]
      }}
      env {{
        ALLOC = "${{NOMAD_ALLOC_ID}}"
        NAME  = "svc-{i}"
      }}
      resources {{
        cpu    = 100
        memory = 128
      }}
      service {{
        name = "svc-{i}"
        port = "http"
        check {{
          type     = "http"
          path     = "/health"
          interval = "10s"
          timeout  = "2s"
        }}
      }}
    }}
  }}
}}
"#
    )
}

fn stack_text(jobs: usize) -> String {
    let mut s = String::from("variable \"image\" {\n  default = \"registry.local/app\"\n}\n\n");
    for i in 0..jobs {
        s.push_str(&small_job(i));
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("frontend");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let text = stack_text(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse_convert", n), &text, |b, text| {
            b.iter(|| {
                let jobs =
                    deploy::frontend::parse_job_text(Path::new("bench.nomad.hcl"), text).expect("valid");
                assert_eq!(jobs.len(), n);
            })
        });
        group.bench_with_input(BenchmarkId::new("hcl_parse_only", n), &text, |b, text| {
            b.iter(|| hcl::edit::parser::parse_body(text).expect("valid"))
        });
    }
    group.finish();
}

/// A stack directory of `files` job files (each its own scope, declaring the image variable it
/// uses) and a stack file.
fn stack_dir(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    std::fs::write(root.join("stack.hcl"), "stack {\n  name = \"bench\"\n}\n").expect("stack file");
    for i in 0..files {
        let text = format!(
            "variable \"image\" {{\n  default = \"registry.local/app\"\n}}\n\n{}",
            small_job(i)
        );
        std::fs::write(root.join(format!("svc-{i:05}.nomad.hcl")), text).expect("job file");
    }
    dir
}

fn bench_dir(c: &mut Criterion) {
    let mut group = c.benchmark_group("frontend_dir");
    group.sample_size(10);
    for n in [1_000usize, 5_000] {
        let dir = stack_dir(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("load_stack_files", n), &dir, |b, dir| {
            b.iter(|| {
                let (stack, _) =
                    deploy::frontend::load_stack(dir.path(), &deploy::frontend::Inputs::default())
                        .expect("valid stack");
                assert_eq!(stack.jobs.len(), n);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_dir);
criterion_main!(benches);
