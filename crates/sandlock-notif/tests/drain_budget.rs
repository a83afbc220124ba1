//! Many notifications pending at once on one listener (a multi-threaded caller), served with
//! the smallest drain budget so that listeners take turns, next to a second sandbox.
#![forbid(unsafe_code)]

mod util;

use std::collections::HashSet;
use std::os::unix::process::parent_id;

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, Verdict};
use util::nr;

const THREADS: u32 = 8;
const CALLS: u32 = 500;

#[test]
fn concurrent_callers_with_a_budget_of_one() {
    const TEST: &str = "concurrent_callers_with_a_budget_of_one";
    if util::in_child(TEST) {
        // Threads created after the filter is installed inherit it.
        util::child_install_filter(&[nr("getppid")]);
        let threads: Vec<_> = (0..THREADS)
            .map(|_| std::thread::spawn(|| (0..CALLS).map(|_| parent_id()).collect::<Vec<u32>>()))
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for v in t.join().unwrap() {
                assert!(seen.insert(v), "answer {v} given twice");
            }
        }
        assert_eq!(seen.len(), (THREADS * CALLS) as usize);
        assert!(seen.iter().all(|&v| (1..=THREADS * CALLS).contains(&v)));
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default().with_drain_budget(1)).unwrap();
    assert_eq!(reactor.config().drain_budget, 1);
    let mut ids = Vec::new();
    let mut children = Vec::new();
    for _ in 0..2 {
        let spawned = util::spawn_child(TEST, &[]);
        let mut counter = 0i64;
        let handlers = HandlerTable::new().on(nr("getppid"), move |_| {
            counter += 1;
            Ok(Verdict::Return(counter))
        });
        ids.push(reactor.add_sandbox(spawned.listener, handlers).unwrap());
        children.push(spawned.child);
    }
    util::run_until_closed(&mut reactor, &ids);
    let n = u64::from(THREADS * CALLS);
    for (mut child, id) in children.into_iter().zip(ids) {
        util::assert_success(child.wait().unwrap(), &format!("{id}"));
        let stats = reactor.stats(id).unwrap();
        assert_eq!((stats.received, stats.answered), (n, n), "{stats:?}");
    }
}
