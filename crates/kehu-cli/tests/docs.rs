//! The docs cannot drift from the program: every `sh` block of README.md and docs/*.md runs,
//! in order, as one script per file, against the `kehu` just built, in a scratch directory
//! (so the default `./kehu-data` is a new one) with a server already running on it, the way a
//! reader who follows the page would. A block that needs root, the network, a build or a
//! long run is marked `<!-- docs-test: skip (why) -->` on the line before it; any other failing
//! command fails the test, naming the file and the block's line.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{Served, serve_with};

/// The marker that keeps a block out of the run; its reason follows in brackets.
const SKIP: &str = "<!-- docs-test: skip";

/// A fenced block of a Markdown file: its first line's number, its info string and its text.
struct Block {
    line: usize,
    lang: String,
    text: String,
    skipped: bool,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut indent = 0;
    let mut last_text_line = "";
    for (i, raw) in markdown.lines().enumerate() {
        let trimmed = raw.trim_start();
        match current.as_mut() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    indent = raw.len() - trimmed.len();
                    current = Some(Block {
                        line: i + 1,
                        lang: info.trim().to_owned(),
                        text: String::new(),
                        skipped: last_text_line.trim_start().starts_with(SKIP),
                    });
                } else if !trimmed.is_empty() {
                    last_text_line = raw;
                }
            }
            Some(b) => {
                if trimmed.starts_with("```") {
                    out.extend(current.take());
                    last_text_line = "";
                } else {
                    let cut = raw.len() - raw.trim_start().len();
                    b.text.push_str(&raw[cut.min(indent)..]);
                    b.text.push('\n');
                }
            }
        }
    }
    out
}

fn kehu_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kehu"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// What a reader's shell has: `kehu` on the PATH, no Kehu settings of the test run.
fn shell(dir: &Path) -> Command {
    let mut c = Command::new("bash");
    let path = format!(
        "{}:{}",
        kehu_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.current_dir(dir)
        .env("PATH", path)
        .env("KEHU_LANG", "en")
        .env("KEHU_ADMIN_PASSWORD", "saffron-harbor-29-lantern")
        .env_remove("KEHU_DATABASE_URL")
        .env_remove("KEHU_DATA_DIR")
        .env_remove("KEHU_CONFIG")
        .env_remove("KEHU_POLICY")
        .env_remove("KEHU_BIND");
    c
}

fn start_server(dir: &Path) -> anyhow::Result<Served> {
    let mut cmd = shell(dir);
    cmd.args(["-c", "exec kehu serve --bind 127.0.0.1:0"]);
    serve_with(cmd)
}

/// Runs one file's blocks; returns what was run, for the failure message.
fn run_file(file: &str) -> anyhow::Result<usize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let markdown = std::fs::read_to_string(root.join(file))?;
    let scratch = tempfile::tempdir()?;
    let server = start_server(scratch.path())?;
    let mut ran = 0;
    for b in blocks(&markdown) {
        if !matches!(b.lang.as_str(), "sh" | "bash") || b.skipped {
            continue;
        }
        // The examples use the default address; the test's server has its own port.
        let address = server.base.trim_start_matches("http://");
        let script = b.text.replace("127.0.0.1:8080", address);
        let started = Instant::now();
        let mut child = shell(scratch.path())
            .args(["-euo", "pipefail", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // A block that hangs fails too.
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                anyhow::bail!("{file}:{}: the block did not finish in 120 s", b.line);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output()?;
        anyhow::ensure!(
            out.status.success(),
            "{file}:{}: the block failed ({}):\n{}\n--- stdout\n{}\n--- stderr\n{}",
            b.line,
            out.status,
            b.text,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    drop(server);
    Ok(ran)
}

#[test]
fn the_blocks_are_read_with_their_skip_markers() {
    let md = "text\n\n<!-- docs-test: skip (needs root) -->\n```sh\nsudo x\n```\n\n```sh\nkehu a\n  kehu b\n```\n\n- item\n\n  ```sh\n  kehu c\n  ```\n```toml\nx = 1\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 4);
    assert!(b[0].skipped && b[0].text == "sudo x\n");
    assert!(!b[1].skipped && b[1].text == "kehu a\n  kehu b\n" && b[1].line == 8);
    assert_eq!(b[2].text, "kehu c\n");
    assert_eq!(b[3].lang, "toml");
}

#[test]
fn every_command_of_the_readme_runs() -> anyhow::Result<()> {
    assert!(run_file("README.md")? >= 1);
    Ok(())
}

#[test]
fn every_command_of_the_operator_guide_runs() -> anyhow::Result<()> {
    assert!(run_file("docs/operator-guide.md")? >= 5);
    Ok(())
}

#[test]
fn every_command_of_the_policy_guide_runs() -> anyhow::Result<()> {
    assert!(run_file("docs/policy.md")? >= 1);
    Ok(())
}
