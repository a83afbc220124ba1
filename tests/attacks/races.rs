//! Attack battery, race group: a second thread changes what a path names while the first
//! one uses it, thousands of times, hoping that a check and the use see different things.
//!
//! Landlock checks the object a path resolves to at the moment of use, inside the kernel,
//! so a swap between two states can only ever give one of the two states' answers: the race
//! must never win. The supervised races (a sockaddr or a path rewritten after the supervisor
//! read it) are in the network and proc groups, next to the handlers they attack.

use sandlock_tests::{Scratch, system_read_args};

mod common;
use common::{assert_healthy, bare, sandboxed, skip_without_landlock, stdout};

const SECRET: &str = "top secret";

/// `w/` is writable in the sandbox, `s/secret` not granted.
fn layout(name: &str) -> (Scratch, String) {
    let dir = Scratch::new(name);
    std::fs::create_dir(dir.join("w")).unwrap();
    std::fs::create_dir(dir.join("s")).unwrap();
    std::fs::write(dir.join("s/secret"), SECRET).unwrap();
    let py = format!(
        "W = '{w}'\nS = '{s}'\nSECRET = S + '/secret'\n",
        w = dir.join("w").display(),
        s = dir.join("s").display(),
    );
    (dir, py)
}

/// The racing program: a thread flips `W/x` (by rename, atomically) between a plain file and
/// a symlink to the secret, and `W/d` between a directory and a symlink to `S`; the main
/// thread reads `W/x` and `W/d/secret` over and over and counts reads of the secret.
///
/// The flipping thread yields in every state, so that the reader (which needs the GIL too)
/// gets to see each one. Bare, the program runs until both races are won (`UNTIL_WON`,
/// within a minute): a fixed count lost now and then on a loaded machine, and a control that
/// can lose tells nothing. Sandboxed, it runs [`SANDBOXED_ITERATIONS`] rounds.
const RACE: &str = r#"
import threading, time
os.mkdir(W + '/real')
open(W + '/real/secret', 'w').write('decoy')
stop = False
def flip():
    n = 0
    while not stop:
        n += 1
        for tmp, make in ((W + '/x.1', lambda p: os.symlink(SECRET, p)),
                          (W + '/x.2', lambda p: open(p, 'w').write('plain'))):
            make(tmp)
            os.replace(tmp, W + '/x')
            time.sleep(0)
        for target in (S, W + '/real'):
            os.symlink(target, W + '/d.tmp')
            os.replace(W + '/d.tmp', W + '/d')
            time.sleep(0)
t = threading.Thread(target=flip)
t.start()
wins = {'file': 0, 'dir': 0}
deadline = time.monotonic() + 60
i = 0
while True:
    if UNTIL_WON:
        if all(wins.values()) or time.monotonic() > deadline:
            break
    elif i == ITERATIONS:
        break
    i += 1
    for kind, path in (('file', W + '/x'), ('dir', W + '/d/secret')):
        try:
            with open(path) as f:
                if f.read() == 'top secret':
                    wins[kind] += 1
        except OSError:
            pass
    if i % 50 == 0:
        time.sleep(0)
stop = True
t.join()
print('rounds: %d' % i, file=sys.stderr)
for kind in ('file', 'dir'):
    print('%s swap race: %s' % (kind, 'won' if wins[kind] else 'lost'))
"#;

/// Rounds of the sandboxed race: bare, both races are won within a few hundred.
const SANDBOXED_ITERATIONS: u32 = 4000;

#[test]
fn races_rename_and_symlink_swaps() {
    if skip_without_landlock() {
        return;
    }
    let (_bare_dir, py) = layout("race-bare");
    let out = bare(&format!("{py}UNTIL_WON = True\n{RACE}"));
    assert_eq!(
        stdout(&out),
        "file swap race: won\ndir swap race: won\n",
        "bare, the swaps reach the secret: {}",
        sandlock_tests::text(&out)
    );
    let bare_rounds = String::from_utf8_lossy(&out.stderr).trim().to_owned();

    let (dir, py) = layout("race-sandboxed");
    let mut policy = system_read_args();
    policy.extend(["-w".to_owned(), dir.join("w").display().to_string()]);
    let out = sandboxed(
        &policy,
        &format!("{py}UNTIL_WON = False\nITERATIONS = {SANDBOXED_ITERATIONS}\n{RACE}"),
    );
    assert_eq!(
        stdout(&out),
        "file swap race: lost\ndir swap race: lost\n",
        "sandboxed, no read of the secret ever succeeds: {}",
        sandlock_tests::text(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", sandlock_tests::text(&out));
    println!(
        "races: rename and symlink swaps: bare, both won ({bare_rounds}); sandboxed, 0 wins in \
         {SANDBOXED_ITERATIONS} rounds"
    );
    assert_healthy();
}

/// The racing program for a supervised open: a thread flips a path buffer between an allowed
/// file and /proc/kallsyms (always denied by the /proc views) while the main thread opens
/// whatever the buffer says. A supervisor that checked the string and then let the kernel
/// read it again would lose; sandlock opens its own copy and checks the object it got.
const PATH_FLIP: &str = r#"
import threading
libc.open.restype = ctypes.c_int
allowed = b'/proc/self/status\0'
denied = b'/proc/kallsyms\0'
buf = ctypes.create_string_buffer(64)
ctypes.memmove(buf, allowed, len(allowed))
target = os.stat('/proc/kallsyms')
stop = False
def flip():
    while not stop:
        ctypes.memmove(buf, denied, len(denied))
        ctypes.memmove(buf, allowed, len(allowed))
t = threading.Thread(target=flip)
t.start()
wins = opened = 0
for i in range(3000):
    fd = libc.open(buf, os.O_RDONLY)
    if fd >= 0:
        opened += 1
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            wins += 1
        os.close(fd)
stop = True
t.join()
print('path flip race: %s' % ('won' if wins else 'lost'))
print('allowed file opened: %s' % ('yes' if opened else 'no'))
"#;

#[test]
fn races_path_flipped_after_the_supervisor_read_it() {
    let out = bare(PATH_FLIP);
    assert_eq!(
        stdout(&out),
        "path flip race: won\nallowed file opened: yes\n",
        "bare, the flipped path opens /proc/kallsyms: {}",
        sandlock_tests::text(&out)
    );
    let mut policy = system_read_args();
    policy.extend(["-r".to_owned(), "/proc".to_owned()]);
    let out = sandboxed(&policy, PATH_FLIP);
    assert_eq!(
        stdout(&out),
        "path flip race: lost\nallowed file opened: yes\n",
        "sandboxed, /proc/kallsyms is never opened: {}",
        sandlock_tests::text(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", sandlock_tests::text(&out));
    println!("races: path flipped after the supervisor read it: 0 wins in 3000 opens");
    assert_healthy();
}
