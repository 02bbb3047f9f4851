//! The worker threads of the multi-threaded kernels: started once and parked between calls,
//! so that a call costs a wake-up instead of spawning and joining a thread. A training step
//! makes a dozen threaded kernel calls; spawned threads cost tens of microseconds each on a
//! small VM, which made 2 threads slower than 1 at batch 64 (docs/PERFORMANCE.md).
//!
//! [`run`] hands out tasks `0..n` one at a time to the calling thread and to whichever
//! workers wake up while some are left, and returns when every task has finished. The
//! caller waits only for workers that took a task: a worker whose core is busy elsewhere and
//! wakes late finds the call closed and goes back to sleep, so it cannot stall the call.
//! Each participant gets a slot (the caller 0, workers 1, 2, ... in the order they join) for
//! state of its own, such as packing buffers. One call at a time uses the pool; a call made
//! while another holds it (tests run side by side) runs its tasks in turn on its own thread,
//! as does a call made from inside a task (no participant waits on itself).

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, TryLockError};

/// A job borrowed for the length of one [`run`] call, whose lifetime the pool cannot name.
#[derive(Clone, Copy)]
struct JobPtr(*const Job<'static>);
// SAFETY: the job is `Sync`, and `run` does not return (or unwind) before every worker
// that took part has finished with it; a late worker never touches it (see `State::open`).
unsafe impl Send for JobPtr {}

/// One call's work: `f(slot, task)` for each task, and the counter the tasks are taken from.
struct Job<'a> {
    f: &'a (dyn Fn(usize, usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
}

impl Job<'_> {
    /// Takes and runs tasks until none are left.
    fn drain(&self, slot: usize) {
        loop {
            let task = self.next.fetch_add(1, Ordering::Relaxed);
            if task >= self.tasks {
                return;
            }
            (self.f)(slot, task);
        }
    }
}

#[derive(Default)]
struct State {
    /// Bumped per call, so a worker looks at each call once.
    generation: u64,
    /// Set while workers may still join this generation's call.
    open: bool,
    job: Option<JobPtr>,
    /// Slots handed out so far (the caller holds 0).
    slots: usize,
    /// Workers that joined and have not finished.
    running: usize,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

struct Pool {
    /// Held by the call that owns the workers.
    call: Mutex<()>,
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
}

thread_local! {
    /// Set while this thread runs a task, so that a nested `run` does not wait on the pool.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Participants of a call at most: the caller and `threads() - 1` workers.
pub fn slots() -> usize {
    crate::simd::threads().max(1)
}

fn pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool = Arc::new(Pool {
            call: Mutex::new(()),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        for w in 1..slots() {
            let pool = Arc::clone(&pool);
            std::thread::Builder::new()
                .name(format!("autoenc-worker-{w}"))
                .spawn(move || worker(&pool))
                .expect("start a kernel worker thread");
        }
        pool
    })
}

fn worker(pool: &Pool) {
    IN_TASK.with(|f| f.set(true));
    let mut seen = 0;
    loop {
        let (job, slot, first) = {
            let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            while st.generation == seen {
                st = pool.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            seen = st.generation;
            let (true, Some(job)) = (st.open && st.slots < slots(), st.job) else { continue };
            // Join only with a task in hand, taken under the lock: a worker that wakes when
            // every task is taken never makes the caller wait for it.
            // SAFETY: the call is open, so its job is alive (the caller closes it under this lock).
            let first = unsafe { (*job.0).next.fetch_add(1, Ordering::Relaxed) };
            if first >= unsafe { (*job.0).tasks } {
                continue;
            }
            st.slots += 1;
            st.running += 1;
            (job, st.slots - 1, first)
        };
        // SAFETY: this worker joined while the call was open, so `run` waits for it
        // (`running`) before the job's borrow ends.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe {
            let job = &*job.0;
            (job.f)(slot, first);
            job.drain(slot)
        }));
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

/// Runs `f(slot, task)` for every `task` in `0..tasks`, each exactly once, on the calling
/// thread and the workers that join; `slot < slots()` is the participant's own index (no two
/// participants share one). Returns when all tasks have finished; a panic in a task is
/// raised again here, after the others have finished.
pub fn run(tasks: usize, f: &(dyn Fn(usize, usize) + Sync)) {
    let job = Job { f, tasks, next: AtomicUsize::new(0) };
    if tasks <= 1 || slots() == 1 || IN_TASK.with(Cell::get) {
        return job.drain(0);
    }
    let pool = pool();
    let guard = match pool.call.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return job.drain(0),
    };
    {
        let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY (lifetime erasure): see `JobPtr`; the wait below outlives every use.
        st.job = Some(JobPtr(unsafe { std::mem::transmute::<&Job<'_>, &Job<'static>>(&job) }));
        st.open = true;
        st.slots = 1;
        st.running = 0;
        st.panic = None;
        st.generation += 1;
    }
    pool.wake.notify_all();
    IN_TASK.with(|f| f.set(true));
    let own = catch_unwind(AssertUnwindSafe(|| job.drain(0)));
    IN_TASK.with(|f| f.set(false));
    let panic = {
        let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        // No task is left to take: close the call to late workers, wait for those in it.
        st.open = false;
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

/// [`run`] over owned items (disjoint `&mut` chunks, say): `f(i, item)` for each, the item
/// moved to whichever participant takes task `i`.
pub fn run_each<T: Send>(items: Vec<T>, f: &(dyn Fn(usize, T) + Sync)) {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    run(cells.len(), &|_, i| {
        let item = cells[i].lock().unwrap_or_else(|e| e.into_inner()).take().expect("each item is taken once");
        f(i, item)
    });
}

/// [`run`] collecting `f(task)` for every task in `0..tasks`, in task order.
pub fn map<R: Send>(tasks: usize, f: &(dyn Fn(usize) -> R + Sync)) -> Vec<R> {
    let slots: Vec<Mutex<Option<R>>> = (0..tasks).map(|_| Mutex::new(None)).collect();
    run(tasks, &|_, t| *slots[t].lock().unwrap_or_else(|e| e.into_inner()) = Some(f(t)));
    slots.into_iter().map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every task ran")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_whatever_the_count() {
        for n in [0, 1, 2, 3, 7, 64] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                run(n, &|slot, task| {
                    assert!(slot < slots());
                    hits[task].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50), "n = {n}");
        }
    }

    /// No two participants of a call share a slot: each slot's counter is only ever
    /// touched by one thread at a time.
    #[test]
    fn slots_are_never_shared_within_a_call() {
        let busy: Vec<AtomicUsize> = (0..slots()).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..20 {
            run(64, &|slot, _| {
                assert_eq!(busy[slot].fetch_add(1, Ordering::SeqCst), 0, "slot {slot} in use twice");
                std::hint::black_box((0..200).sum::<u64>());
                busy[slot].fetch_sub(1, Ordering::SeqCst);
            });
        }
    }

    #[test]
    fn owned_items_and_results_keep_their_order() {
        let mut data: Vec<u32> = (0..10).collect();
        run_each(data.chunks_mut(3).collect(), &|i, chunk: &mut [u32]| {
            chunk.iter_mut().for_each(|v| *v += 100 * i as u32)
        });
        assert_eq!(data, [0, 1, 2, 103, 104, 105, 206, 207, 208, 309]);
        assert_eq!(map(5, &|t| t * t), [0, 1, 4, 9, 16]);
        assert!(map(0, &|t| t).is_empty());
    }

    #[test]
    fn nested_and_concurrent_calls_finish() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..20 {
                        run(3, &|_, _| {
                            run(3, &|_, _| {
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
    fn a_panicking_task_panics_the_call_and_the_pool_keeps_working() {
        let r = catch_unwind(|| run(4, &|_, task| assert_ne!(task, 1, "task 1 fails")));
        assert!(r.is_err());
        let hits = AtomicUsize::new(0);
        run(4, &|_, _| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 4);
    }
}
