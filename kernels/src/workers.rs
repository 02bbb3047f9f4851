//! The worker threads of the multi-threaded kernels: started once and parked between calls,
//! so that a call costs a wake-up instead of spawning and joining a thread. A training step
//! makes a dozen threaded kernel calls; spawned threads cost tens of microseconds each on a
//! small VM, which made 2 threads slower than 1 at batch 64 (docs/PERFORMANCE.md).
//!
//! [`run`] gives job `w` of `n` to worker `w`, the calling thread doing job 0, and returns
//! when every job has finished. One call at a time uses the pool; a call made while another
//! holds it (tests run side by side) spawns scoped threads as before, and a call from inside
//! a job runs its jobs in turn on that thread (no worker waits on itself).

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, OnceLock, TryLockError};

/// A job borrowed for the length of one [`run`] call, whose lifetime the pool cannot name.
#[derive(Clone, Copy)]
struct JobPtr(*const (dyn Fn(usize) + Sync));
// SAFETY: the pointee is `Sync`, and `run` does not return (or unwind) before every worker
// has finished with it, so sending the pointer to the workers is sound.
unsafe impl Send for JobPtr {}

#[derive(Default)]
struct State {
    /// Bumped per call: a worker runs a job once per generation.
    generation: u64,
    job: Option<JobPtr>,
    jobs: usize,
    /// Workers still running this generation's jobs.
    running: usize,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

struct Pool {
    /// Held by the call that owns the workers.
    call: Mutex<()>,
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
    workers: usize,
}

thread_local! {
    /// Set while this thread runs a pool job, so that a nested `run` does not wait on the pool.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

fn pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = crate::simd::threads().saturating_sub(1);
        let pool = Arc::new(Pool {
            call: Mutex::new(()),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
            workers,
        });
        for w in 1..=workers {
            let pool = Arc::clone(&pool);
            std::thread::Builder::new()
                .name(format!("autoenc-worker-{w}"))
                .spawn(move || worker(&pool, w))
                .expect("start a kernel worker thread");
        }
        pool
    })
}

fn worker(pool: &Pool, w: usize) {
    IN_JOB.with(|f| f.set(true));
    let mut seen = 0;
    loop {
        let (job, jobs) = {
            let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            while st.generation == seen {
                st = pool.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            seen = st.generation;
            (st.job, st.jobs)
        };
        let (Some(JobPtr(job)), true) = (job, w < jobs) else { continue };
        // SAFETY: `run` keeps the job alive until `running` reaches 0, which this worker's
        // decrement below is part of.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(w) }));
        let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(p) = result {
            st.panic.get_or_insert(p);
        }
        st.running -= 1;
        if st.running == 0 {
            pool.done.notify_all();
        }
    }
}

/// Runs `job(w)` for every `w` in `0..n` (job 0 on the calling thread) and returns when all
/// have finished; a panic in a job is raised again here, after the others have finished.
pub fn run(n: usize, job: &(dyn Fn(usize) + Sync)) {
    if n <= 1 || IN_JOB.with(Cell::get) {
        (0..n).for_each(job);
        return;
    }
    let pool = pool();
    let guard = match pool.call.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return run_scoped(n, job),
    };
    let pooled = n.min(pool.workers + 1);
    {
        let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY (lifetime erasure): see `JobPtr`; the wait below outlives every use.
        let erased: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(job) };
        st.job = Some(JobPtr(erased));
        st.jobs = pooled;
        st.running = pooled - 1;
        st.panic = None;
        st.generation += 1;
    }
    pool.wake.notify_all();
    IN_JOB.with(|f| f.set(true));
    // Job 0 here, then any jobs past the pool's size, one after another.
    let own = catch_unwind(AssertUnwindSafe(|| {
        job(0);
        (pooled..n).for_each(job);
    }));
    IN_JOB.with(|f| f.set(false));
    let panic = {
        let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.running > 0 {
            st = pool.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.job = None;
        st.panic.take()
    };
    drop(guard);
    if let Err(p) = own {
        resume_unwind(p);
    }
    if let Some(p) = panic {
        resume_unwind(p);
    }
}

/// [`run`] on freshly spawned scoped threads, for a call made while another owns the pool.
fn run_scoped(n: usize, job: &(dyn Fn(usize) + Sync)) {
    std::thread::scope(|s| {
        for w in 1..n {
            s.spawn(move || {
                IN_JOB.with(|f| f.set(true));
                job(w)
            });
        }
        job(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_job_runs_once_whatever_the_count() {
        for n in [0, 1, 2, 3, 7, 64] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                run(n, &|w| {
                    hits[w].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50), "n = {n}");
        }
    }

    #[test]
    fn nested_and_concurrent_calls_finish() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..20 {
                        run(3, &|_| {
                            run(3, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            })
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 20 * 9);
    }

    #[test]
    fn a_panicking_job_panics_the_call_and_the_pool_keeps_working() {
        let r = catch_unwind(|| run(4, &|w| assert_ne!(w, 1, "job 1 fails")));
        assert!(r.is_err());
        let hits = AtomicUsize::new(0);
        run(4, &|_| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 4);
    }
}
