//! What the command-line test binaries share: a `kehu serve` child and its start line.
// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A server started by `cmd` (which ends in `serve --bind 127.0.0.1:0`); killed on drop.
pub struct Served {
    pub child: Child,
    /// The line that says where it serves, as printed (text or a JSON log line).
    pub start_line: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` and waits for the line with the server's address on its standard output.
pub fn serve_with(mut cmd: Command) -> anyhow::Result<Served> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(out).lines();
    let start_line = loop {
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server exited before it served"))??;
        if line.contains("http://") {
            break line;
        }
    };
    let at = start_line.find("http://").unwrap_or_default();
    let base: String = start_line[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.'))
        .collect();
    Ok(Served {
        child,
        start_line,
        base,
    })
}
