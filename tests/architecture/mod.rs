//! The layout keeps its promise: `src/core/` decides and `src/shell/` acts.
//!
//! These tests read the source files themselves. A core file that imports a crate or a part of
//! std that touches the world (the network, the disk, the clock, threads, the environment,
//! processes) or anything of the shell fails the build's tests, naming the file and line. So
//! does a shell function longer than [`MAX_SHELL_FN_LINES`]: policy belongs in the core, where it
//! is tested as data, and a shell function should read as observe, decide, act.

use std::path::{Path, PathBuf};

/// What a core file may not name: the crates and std modules that act on the world, the clock's
/// readers, and the shell.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "rusqlite",
    "ureq",
    "indicatif",
    "signal_hook",
    "ctrlc",
    "libc",
    "std::fs",
    "std::env",
    "std::net",
    "std::thread",
    "std::process",
    "SystemTime::now",
    "Instant::now",
    "crate::shell",
];

/// std modules that act, as they appear inside a grouped `use std::{…}`.
const FORBIDDEN_STD_MODULES: &[&str] = &["fs", "env", "net", "thread", "process"];

/// The longest a shell function may be, from its `fn` line to its closing brace.
const MAX_SHELL_FN_LINES: usize = 60;

fn src(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The numbered lines of a file that are product code: comments and the `#[cfg(test)]` modules
/// (unit tests may read fixtures from disk) are left out.
fn product_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let mut in_tests = false;
    let mut after_cfg_test = false;
    for (i, line) in text.lines().enumerate() {
        if in_tests {
            in_tests = line != "}";
            continue;
        }
        if line.trim_start().starts_with("//") {
            continue;
        }
        if after_cfg_test && line.starts_with("mod ") {
            in_tests = !line.trim_end().ends_with("}");
            after_cfg_test = false;
            continue;
        }
        after_cfg_test = line == "#[cfg(test)]";
        lines.push((i + 1, line));
    }
    lines
}

/// Where a core file acts: `file:line: text` for each line naming a forbidden path.
fn impurities(path: &Path, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in product_lines(text) {
        let code = line.split("//").next().unwrap_or(line);
        let grouped_std = code.split("std::{").nth(1).is_some_and(|group| {
            group.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| FORBIDDEN_STD_MODULES.contains(&w))
        });
        if grouped_std || FORBIDDEN_IN_CORE.iter().any(|f| names(code, f)) {
            found.push(format!("{}:{number}: {}", shown(path), line.trim()));
        }
    }
    found
}

/// Whether `code` names the path `what` as a whole word (`libc` but not `libcfoo`).
fn names(code: &str, what: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(what).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + what.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The functions of a file longer than `max` lines: `file:line: fn name (N lines)`. A function
/// runs from its `fn` line to the first later line holding only its closing brace at the same
/// indentation (the code is rustfmt-formatted).
fn long_functions(path: &Path, text: &str, max: usize) -> Vec<String> {
    let lines = product_lines(text);
    let mut found = Vec::new();
    for (i, (number, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn "].iter().any(|p| trimmed.starts_with(p));
        if !is_fn {
            continue;
        }
        let indent = &line[..line.len() - trimmed.len()];
        let close = format!("{indent}}}");
        let Some((end, _)) = lines[i..].iter().find(|(_, l)| *l == close) else { continue };
        let length = end - number + 1;
        if length > max {
            let name = trimmed.split("fn ").nth(1).and_then(|s| s.split(['(', '<']).next()).unwrap_or(trimmed);
            found.push(format!("{}:{number}: {name} ({length} lines)", shown(path)));
        }
    }
    found
}

#[test]
fn core_files_do_not_act() {
    let files = rust_files(&src("core"));
    assert!(files.len() > 10, "src/core/ should hold the deciding modules, found {files:?}");
    let found: Vec<String> = files
        .iter()
        .flat_map(|p| impurities(p, &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))))
        .collect();
    assert!(
        found.is_empty(),
        "src/core/ decides and must not act; move these to src/shell/ or pass what they read in:\n{}",
        found.join("\n")
    );
}

#[test]
fn shell_functions_stay_short() {
    let mut files = rust_files(&src("shell"));
    files.push(src("main.rs"));
    let found: Vec<String> = files
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            long_functions(p, &text, MAX_SHELL_FN_LINES)
        })
        .collect();
    assert!(
        found.is_empty(),
        "shell functions over {MAX_SHELL_FN_LINES} lines; lift their decisions into src/core/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    let planted = "use std::collections::HashMap;\nuse std::{fmt, fs};\n// std::fs in a comment\nfn f() {\n    let t = std::time::Instant::now();\n    let c: rusqlite::Connection;\n    crate::shell::store::Store::open(p);\n}\n#[cfg(test)]\nmod tests {\n    use std::fs;\n}\n";
    let found = impurities(Path::new("planted.rs"), planted);
    assert_eq!(
        found,
        [
            "planted.rs:2: use std::{fmt, fs};",
            "planted.rs:5: let t = std::time::Instant::now();",
            "planted.rs:6: let c: rusqlite::Connection;",
            "planted.rs:7: crate::shell::store::Store::open(p);",
        ]
    );
    let body: String = (0..3).map(|i| format!("    let x{i} = {i};\n")).collect();
    let short = format!("fn short() {{\n{body}}}\n");
    let long =
        format!("impl S {{\n    pub fn long() {{\n{}    }}\n}}\n", body.repeat(20).replace("\n    ", "\n        "));
    assert!(long_functions(Path::new("s.rs"), &short, 5).is_empty());
    assert_eq!(long_functions(Path::new("l.rs"), &long, 60), ["l.rs:2: long (62 lines)"]);
}

/// A path as a reader of the repository names it.
fn shown(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string()
}
