//! `cargo bench`: the lab's matrix (every available engine × fprog1/fprog2
//! × hit/miss) through criterion, on the same scenarios and the same
//! measured loop as `bpflab run`, plus branch misses per call where the
//! machine has hardware counters (skipped with a message elsewhere).

use bpflab::lab::workload::{Workload, bpflab_measured_calls};
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::{Mode, Scenario, ScenarioProgram};
use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion};
use std::time::{Duration, Instant};

/// Settings that keep the whole matrix to about two minutes.
fn configure<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .nresamples(10_000)
        .configure_from_args()
}

/// Calls `bench` once per cell with the cell's id and a workload.
fn for_each_cell(mut bench: impl FnMut(BenchmarkId, &mut Workload<'_>)) {
    for program in ScenarioProgram::ALL {
        for mode in Mode::ALL {
            let scenario = Scenario::standard(program, mode);
            for engine in Engine::available() {
                let filter = match Filter::attach(program.program(), engine) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("skipped {engine} {program} {mode}: {e}");
                        continue;
                    }
                };
                if let Err(e) = scenario.verify(&filter) {
                    panic!("{engine} gives a wrong verdict, not benchmarked: {e}");
                }
                let mut work = Workload::new(&filter, &scenario);
                bench(
                    BenchmarkId::new(engine.name(), format!("{program}/{mode}")),
                    &mut work,
                );
            }
        }
    }
}

fn main() {
    let mut c = configure(Criterion::default());
    {
        let mut group = c.benchmark_group("ns_per_call");
        for_each_cell(|id, work| {
            group.bench_function(id, |b| {
                b.iter_custom(|calls| {
                    let start = Instant::now();
                    bpflab_measured_calls(work, calls);
                    start.elapsed()
                })
            });
        });
        group.finish();
    }
    branch_misses::run();
    c.final_summary();
}

mod branch_misses {
    //! A criterion measurement that counts branch misses with perf_event.

    use super::{configure, for_each_cell};
    use bpflab::lab::counters::{Counters, EventSpec};
    use bpflab::lab::workload::bpflab_measured_calls;
    use criterion::measurement::{Measurement, ValueFormatter};
    use criterion::{Criterion, Throughput};
    use std::cell::RefCell;

    /// Branch misses of the measured code (the trait takes `&self`, the
    /// counter needs `&mut`).
    pub struct BranchMisses(RefCell<Counters>);

    impl Measurement for BranchMisses {
        type Intermediate = ();
        type Value = u64;
        fn start(&self) {
            self.0.borrow_mut().start();
        }
        fn end(&self, _: ()) -> u64 {
            // A batch the counter did not run in counts as none.
            let counted = self.0.borrow_mut().stop();
            counted.first().copied().flatten().unwrap_or(0.0) as u64
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, v: &u64) -> f64 {
            *v as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &Misses
        }
    }

    /// Formats counts as "misses".
    struct Misses;

    impl ValueFormatter for Misses {
        fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
            "misses"
        }
        fn scale_throughputs(
            &self,
            _typical: f64,
            _t: &Throughput,
            _values: &mut [f64],
        ) -> &'static str {
            "misses"
        }
        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "misses"
        }
    }

    /// The matrix again, counting branch misses per call.
    pub fn run() {
        let spec = EventSpec::parse("branch-misses").expect("a perf name");
        let (counters, failed) = Counters::open(&[spec]);
        if let Some(u) = failed.first() {
            eprintln!("branch misses: skipped, <not supported>: {}", u.reason);
            return;
        }
        let mut c =
            configure(Criterion::default().with_measurement(BranchMisses(RefCell::new(counters))));
        let mut group = c.benchmark_group("branch_misses_per_call");
        for_each_cell(|id, work| {
            group.bench_function(id, |b| b.iter(|| bpflab_measured_calls(work, 1)));
        });
        group.finish();
    }
}
