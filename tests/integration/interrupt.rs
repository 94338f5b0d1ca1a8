//! Ctrl-C on a terminal: the progress line is cleared and keytrace ends
//! killed by SIGINT (status 130 as `script -e` reports it). The terminal is a pseudo-terminal
//! that util-linux `script` opens; Ctrl-C is the byte 0x03 typed into it,
//! which the terminal turns into SIGINT for keytrace.
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the terminal shows after the last "clear the line" keytrace or its
/// progress line wrote: empty once the interrupt cleared it.
fn after_last_clear(screen: &str) -> &str {
    screen.rsplit("\x1b[2K").next().unwrap_or(screen)
}

#[test]
fn ctrl_c_clears_the_progress_line() {
    let util_linux = Command::new("/usr/bin/script")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"));
    if !cfg!(target_os = "linux") || !util_linux {
        eprintln!("no util-linux script: the terminal test is skipped");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_keytrace");
    // `scan -` on a terminal waits for input with its spinner drawn.
    let mut child = Command::new("/usr/bin/script")
        .args(["-q", "-e", "-f", "-c"])
        .arg(format!("exec '{bin}' scan -"))
        .arg("/dev/null")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        // `script -c` runs the command with $SHELL.
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().unwrap();
    let reader = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let text = |s: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&s.lock().unwrap()).into_owned();
    let start = Instant::now();
    // The spinner's elapsed time ("0s", "1s", …) once it has drawn a frame.
    let frame = |s: &str| s.split("Ctrl-D").nth(1).is_some_and(|t| t.contains("s "));
    while !frame(&text(&screen)) {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("no spinner on the terminal: {:?}", text(&screen));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let drawn = text(&screen);
    assert!(
        !after_last_clear(&drawn).trim().is_empty(),
        "a progress line on screen before Ctrl-C: {drawn:?}"
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("keytrace did not stop on Ctrl-C: {:?}", text(&screen));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    reader.join().unwrap();
    let screen = text(&screen);
    assert_eq!(status.code(), Some(130), "{screen:?}");
    let tail = after_last_clear(&screen).replace("^C", "");
    assert!(
        tail.trim().is_empty(),
        "the progress line is left on screen: {tail:?} (whole: {screen:?})"
    );
}
