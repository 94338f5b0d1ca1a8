//! Fork-join over a few parts: the tail of a scan (merging findings,
//! assessing risks and code owners, serialising the report), each split
//! into one part per thread.

/// `f` applied to every part, each on a thread of its own (the first on the
/// calling thread), results in the parts' order. A panic in `f` is raised
/// again here.
pub fn map<T: Send, R: Send>(parts: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.map(|p| s.spawn(move || f(p))).collect();
        let mut out = vec![f(first)];
        for h in handles {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// `items` in `n` (at least one) runs of consecutive items, as even as can be.
pub fn split<T>(items: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let per = items.len().div_ceil(n.max(1)).max(1);
    let mut items = items.into_iter();
    std::iter::from_fn(|| {
        let part: Vec<T> = items.by_ref().take(per).collect();
        (!part.is_empty()).then_some(part)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_keep_their_order() {
        let parts = super::split((0..10).collect::<Vec<u32>>(), 3);
        assert_eq!(parts, [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
        let sums = super::map(parts, |p| p.iter().sum::<u32>());
        assert_eq!(sums, [6, 22, 17]);
        assert!(super::map(Vec::<u32>::new(), |x| x).is_empty());
    }
}
