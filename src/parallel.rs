//! Splitting a CPU-bound loop over thousands of items across the cores with scoped threads
//! (license reuse checks and resolutions, every package's dependency paths). Below a size a
//! thread costs more than it saves, so the work stays on the calling thread.

/// `work` over `items` in chunks, the results in `items`' order: one chunk on this thread below
/// `from` items or on one core, else one chunk per core (at most 4) on scoped threads. `work`
/// gets a whole chunk so that it can set up per-thread state (scratch tables) once.
pub fn map_chunks<T: Sync, R: Send>(
    items: &[T],
    from: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    // Asked only when it matters: it reads cgroup files.
    let threads = match items.len() < from {
        true => 1,
        false => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
    };
    // No items: no chunks to split into (a chunk size of 0 is refused).
    if threads < 2 || items.is_empty() {
        return work(items);
    }
    let work = &work;
    std::thread::scope(|scope| {
        let parts: Vec<_> = (items.chunks(items.len().div_ceil(threads)))
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        (parts.into_iter())
            .flat_map(|part| part.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_split_or_not() {
        let items: Vec<u32> = (0..5_000).collect();
        let doubled = |part: &[u32]| part.iter().map(|n| n * 2).collect::<Vec<_>>();
        let split = map_chunks(&items, 10, doubled);
        let whole = map_chunks(&items, usize::MAX, doubled);
        assert_eq!(split, whole);
        assert_eq!(split.len(), items.len());
        assert!(split.iter().enumerate().all(|(i, n)| *n == 2 * i as u32));
        assert!(map_chunks(&[] as &[u32], 0, doubled).is_empty());
    }
}
