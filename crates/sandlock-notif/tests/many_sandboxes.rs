//! One reactor serves many sandboxes at once, each through its own handlers.
#![forbid(unsafe_code)]

mod util;

use std::os::unix::process::parent_id;

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, Verdict};
use util::nr;

const SANDBOXES: u32 = 50;
const CALLS: u32 = 200;

#[test]
fn fifty_sandboxes_with_distinct_answers() {
    const TEST: &str = "fifty_sandboxes_with_distinct_answers";
    if util::in_child(TEST) {
        let seed: u32 = util::param("SEED").parse().unwrap();
        util::child_install_filter(&[nr("getppid")]);
        for k in 1..=CALLS {
            assert_eq!(
                parent_id(),
                seed * 1000 + k,
                "call {k} of sandbox seed {seed}"
            );
        }
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let mut children = Vec::new();
    let mut ids = Vec::new();
    for seed in 1..=SANDBOXES {
        let spawned = util::spawn_child(TEST, &[("SEED", seed.to_string())]);
        let mut calls = 0i64;
        let handlers = HandlerTable::new().on(nr("getppid"), move |_| {
            calls += 1;
            Ok(Verdict::Return(i64::from(seed) * 1000 + calls))
        });
        ids.push(reactor.add_sandbox(spawned.listener, handlers).unwrap());
        children.push(spawned.child);
    }
    assert_eq!(reactor.len(), SANDBOXES as usize);
    let events = util::run_until_closed(&mut reactor, &ids);
    assert!(events.is_empty(), "{events:?}");
    for (mut child, id) in children.into_iter().zip(&ids) {
        util::assert_success(child.wait().unwrap(), &format!("{id}"));
        let stats = reactor.stats(*id).unwrap();
        assert_eq!(
            (stats.received, stats.answered),
            (CALLS.into(), CALLS.into()),
            "{id}"
        );
        assert!(!reactor.listener_open(*id));
        let removed = reactor.remove_sandbox(*id).unwrap();
        assert_eq!(removed.stats, stats);
    }
    assert!(reactor.is_empty());
}
