//! From what the counters read around each timed batch to the run's
//! counter figures, as `perf stat -r` gives them: each event per call, the
//! mean over every timed round of every process, with its spread over
//! rounds; and, from the software events, how disturbed the batches were.
//!
//! Counts use every timed round, not only the quiet ones the times use:
//! a count per call hardly depends on the machine's speed, and the
//! disturbance summary is about all rounds (it also tells how much quieter
//! the quiet ones were).

use super::worker::ProcessSamples;

/// One event's figures in one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct EventEstimate {
    /// The event's name.
    pub event: String,
    /// The mean count per call over the rounds it was measured in.
    pub per_call: f64,
    /// The mean count per timed batch (one batch per round).
    pub per_round: f64,
    /// The standard deviation of the per-call counts over rounds, relative
    /// to their mean (`None` when the mean is 0).
    pub spread: Option<f64>,
}

/// How disturbed the timed batches were, from the software events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Batches measured (every cell's, every round's).
    pub batches: u64,
    /// Batches during which the worker was switched out at least once.
    pub switched: u64,
    /// Batches of the rounds the times count (the quiet ones).
    pub counted_batches: u64,
    /// Of those, batches with a context switch.
    pub counted_switched: u64,
    /// CPU migrations over all batches.
    pub migrations: f64,
    /// Page faults over all batches.
    pub page_faults: f64,
    /// The share of the batches' wall time the worker spent off a CPU:
    /// per batch, its wall time less its task-clock where that is positive
    /// (`None` without task-clock). About 0 when nothing preempted it.
    pub off_cpu: Option<f64>,
}

/// The events every process counted, in the first process's order.
pub fn events(processes: &[ProcessSamples]) -> Vec<String> {
    let Some(first) = processes.first() else {
        return Vec::new();
    };
    first
        .events
        .iter()
        .filter(|e| processes.iter().all(|p| p.events.contains(e)))
        .cloned()
        .collect()
}

/// One timed batch of one cell as the counters saw it.
struct Batch {
    /// What the event counted, `None` where it did not run.
    count: Option<f64>,
    /// Calls in the batch.
    calls: f64,
    /// The batch's wall time, ns.
    wall_ns: f64,
    /// Whether its round is one the times count.
    counted: bool,
}

/// Every timed batch of cell `cell` over all processes, with what `event`
/// counted in it; `quiet[process]` lists the rounds the times count.
fn batches<'a>(
    processes: &'a [ProcessSamples],
    cell: usize,
    event: &'a str,
    quiet: &'a [Vec<usize>],
) -> impl Iterator<Item = Batch> + 'a {
    processes.iter().zip(quiet).flat_map(move |(p, quiet)| {
        let c = &p.cells[cell];
        let i = p.events.iter().position(|e| e == event);
        let counts = i.and_then(|i| c.counts.get(i));
        let calls = c.batch as f64;
        c.ns.iter().enumerate().map(move |(r, ns)| Batch {
            count: counts.and_then(|v| v.get(r).copied().flatten()),
            calls,
            wall_ns: ns * calls,
            counted: quiet.contains(&r),
        })
    })
}

/// Cell `cell`'s figures for each of `events`.
pub fn cell_events(
    processes: &[ProcessSamples],
    cell: usize,
    events: &[String],
) -> Vec<EventEstimate> {
    let none: Vec<Vec<usize>> = vec![Vec::new(); processes.len()];
    events
        .iter()
        .filter_map(|event| {
            let measured: Vec<(f64, f64)> = batches(processes, cell, event, &none)
                .filter_map(|b| Some((b.count?, b.calls)))
                .collect();
            if measured.is_empty() {
                return None;
            }
            let n = measured.len() as f64;
            let per_call: Vec<f64> = measured.iter().map(|(v, calls)| v / calls).collect();
            let mean = per_call.iter().sum::<f64>() / n;
            let variance = per_call.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            Some(EventEstimate {
                event: event.clone(),
                per_call: mean,
                per_round: measured.iter().map(|(v, _)| v).sum::<f64>() / n,
                spread: (mean > 0.0).then(|| variance.sqrt() / mean),
            })
        })
        .collect()
}

/// The run's disturbance summary, where context switches were counted;
/// `quiet[process]` lists the rounds the times count.
pub fn noise(processes: &[ProcessSamples], quiet: &[Vec<usize>]) -> Option<Noise> {
    let events = events(processes);
    let has = |name: &str| events.iter().any(|e| e == name);
    if !has("context-switches") {
        return None;
    }
    let cells = processes.first().map_or(0, |p| p.cells.len());
    let mut noise = Noise {
        batches: 0,
        switched: 0,
        counted_batches: 0,
        counted_switched: 0,
        migrations: 0.0,
        page_faults: 0.0,
        off_cpu: None,
    };
    let total = |cell, event| -> f64 {
        batches(processes, cell, event, quiet)
            .filter_map(|b| b.count)
            .sum()
    };
    let (mut off, mut wall) = (0.0, 0.0);
    for cell in 0..cells {
        let switches = batches(processes, cell, "context-switches", quiet);
        let task = batches(processes, cell, "task-clock", quiet);
        for (b, task) in switches.zip(task) {
            let Some(count) = b.count else { continue };
            let switched = count > 0.0;
            noise.batches += 1;
            noise.switched += switched as u64;
            noise.counted_batches += b.counted as u64;
            noise.counted_switched += (b.counted && switched) as u64;
            if let Some(task) = task.count {
                off += (b.wall_ns - task).max(0.0);
                wall += b.wall_ns;
            }
        }
        noise.migrations += total(cell, "cpu-migrations");
        noise.page_faults += total(cell, "page-faults");
    }
    if wall > 0.0 {
        noise.off_cpu = Some(off / wall);
    }
    Some(noise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::worker::CellSamples;
    use crate::results::CellKey;

    /// A process of one cell timed in 4 rounds of 1000 calls at 10 ns.
    fn process(events: &[&str], counts: Vec<Vec<Option<f64>>>) -> ProcessSamples {
        ProcessSamples {
            seed: 1,
            warmup_rounds: 1,
            events: events.iter().map(|e| e.to_string()).collect(),
            cells: vec![CellSamples {
                key: CellKey::new("old", "fprog1", "hit"),
                skbs: 1,
                result: Some(1),
                batch: 1000,
                ns: vec![10.0; 4],
                counts,
            }],
        }
    }

    #[test]
    fn per_call_mean_spread_and_not_measured_rounds() {
        let p = process(
            &["branch-misses", "context-switches"],
            vec![
                vec![Some(1000.0), Some(3000.0), None, Some(2000.0)],
                vec![Some(0.0), Some(0.0), Some(2.0), Some(0.0)],
            ],
        );
        let events = events(std::slice::from_ref(&p));
        let est = cell_events(&[p], 0, &events);
        let bm = &est[0];
        // The None round is left out, not taken for 0.
        assert!((bm.per_call - 2.0).abs() < 1e-12);
        assert!((bm.per_round - 2000.0).abs() < 1e-9);
        // Per-call values 1, 3, 2: standard deviation sqrt(2/3) over mean 2.
        assert!((bm.spread.unwrap() - (2.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
        let cs = &est[1];
        assert!((cs.per_round - 0.5).abs() < 1e-12);
        assert!((cs.per_call - 0.0005).abs() < 1e-12);
    }

    #[test]
    fn an_event_no_process_measured_has_no_figures() {
        let p = process(&["cycles"], vec![vec![None; 4]]);
        assert!(cell_events(&[p], 0, &["cycles".to_string()]).is_empty());
        let a = process(
            &["cycles", "task-clock"],
            vec![vec![None; 4], vec![None; 4]],
        );
        let b = process(&["task-clock"], vec![vec![None; 4]]);
        assert_eq!(
            events(&[a, b]),
            ["task-clock"],
            "only what every process counted"
        );
    }

    #[test]
    fn noise_counts_switched_batches_and_the_time_off_a_cpu() {
        let p = process(
            &[
                "task-clock",
                "context-switches",
                "cpu-migrations",
                "page-faults",
            ],
            vec![
                // Each batch takes 10,000 ns of wall time; the second was
                // off a CPU for half of it; the last one's counter window
                // was a little wider than its timed window.
                vec![
                    Some(10_000.0),
                    Some(5_000.0),
                    Some(10_000.0),
                    Some(10_040.0),
                ],
                vec![Some(0.0), Some(3.0), Some(0.0), Some(1.0)],
                vec![Some(0.0), Some(1.0), Some(0.0), Some(0.0)],
                vec![Some(2.0), Some(0.0), Some(0.0), Some(0.0)],
            ],
        );
        let quiet = vec![vec![0, 2]];
        let n = noise(std::slice::from_ref(&p), &quiet).unwrap();
        assert_eq!((n.batches, n.switched), (4, 2));
        assert_eq!((n.counted_batches, n.counted_switched), (2, 0));
        assert_eq!((n.migrations, n.page_faults), (1.0, 2.0));
        assert!((n.off_cpu.unwrap() - 5_000.0 / 40_000.0).abs() < 1e-12);
        let without = process(&["task-clock"], vec![vec![Some(1.0); 4]]);
        assert_eq!(noise(&[without], &quiet), None);
    }
}
