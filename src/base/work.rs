//! A work counter for the tests that hold loops to linear time: a loop
//! whose cost a hostile input could make grow faster than the input (bytes
//! looked back over, candidates compared) counts its steps with [`add`],
//! and a test compares the count on an input and on the same input made
//! larger. Outside the crate's own tests, [`add`] compiles to nothing.

/// Counts `n` steps of work on this thread (tests only).
#[inline(always)]
pub fn add(n: usize) {
    #[cfg(test)]
    COUNT.with(|c| c.set(c.get() + n as u64));
    #[cfg(not(test))]
    let _ = n;
}

#[cfg(test)]
thread_local! {
    static COUNT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The steps `f` counted on this thread, and its result.
#[cfg(test)]
pub fn measure<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = COUNT.with(|c| c.get());
    let r = f();
    (COUNT.with(|c| c.get()) - before, r)
}

/// Asserts that the work of `run` on inputs of growing size grows at most
/// linearly: at 1x and 8x the size, the count may grow at most 10 times.
#[cfg(test)]
pub fn assert_linear(what: &str, mut run: impl FnMut(usize) -> u64) {
    let (small, large) = (run(1).max(1), run(8));
    assert!(
        large <= small * 10,
        "{what}: work {small} at 1x, {large} at 8x: not linear"
    );
}
