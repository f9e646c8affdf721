//! Rule files, rule folders and message templates arrive in pull requests, so they are
//! hostile input. Each test reproduces one way such input used to read local files, leak
//! their contents, hang, exhaust memory or crash, and checks what happens now: one clear
//! error naming the file, exit code 2, nothing of the file quoted, in bounded time and memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{Tenant, bin, clean_guest, contoso, scan_json, stderr_of};

/// Text planted in local files; no output may ever contain it.
const SECRET: &str = "TOP-SECRET-7f3a9c";

/// Every run gets this long; the cases used to hang or take minutes.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A user rule `id` with `condition` and `message` (TOML literal strings: no escaping).
fn rule_text(id: &str, condition: &str, message: &str) -> String {
    format!(
        "id = \"{id}\"\ntitle = \"a hostile rule\"\ntarget = \"user\"\nseverity = \"warning\"\nneeds = [\"users\"]\ncondition = '''{condition}'''\nmessage = '''{message}'''\nevidence = [\"mail\"]\n[docs]\nwhat = \"w\"\nwhy = \"w\"\nremediation = \"r\"\n"
    )
}

/// A folder holding one rule file `id.toml` with `condition` and `message`.
fn rule_folder(dir: &Path, id: &str, condition: &str, message: &str) -> PathBuf {
    let rules = dir.join(format!("rules-{id}"));
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(
        rules.join(format!("{id}.toml")),
        rule_text(id, condition, message),
    )
    .expect("write rule");
    rules
}

/// A local file with a secret in its first line, as `read_csv` would parse it.
fn secret_file(dir: &Path) -> PathBuf {
    let path = dir.join("shadow.csv");
    std::fs::write(&path, format!("n,{SECRET}\n1,{SECRET}\n")).expect("write secret");
    path
}

/// Runs b2bready with `args` and checks it failed the safe way: exit code 2 within the time
/// limit, one `error:` line (and a help line) naming `file`, no panic report, no backtrace,
/// no secret. Returns the standard error.
fn refused(args: &[&str], file: &str) -> String {
    let out = bin()
        .args(args)
        .timeout(TIME_LIMIT)
        .output()
        .expect("b2bready finishes within the time limit");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(file), "the error names {file}: {err}");
    for bad in [
        "panicked",
        "internal error",
        "backtrace",
        "RUST_BACKTRACE",
        "stack overflow",
        SECRET,
    ] {
        assert!(!err.contains(bad), "{bad:?} in: {err}");
    }
    assert!(err.lines().count() <= 2, "{err}");
    assert!(err.lines().all(|l| l.len() < 500), "{err}");
    err
}

/// `rules list` over one rule folder: loading is where hostile rules are stopped.
fn list(rules: &Path) -> Vec<String> {
    vec![
        "rules".into(),
        "list".into(),
        "--rules".into(),
        rules.display().to_string(),
    ]
}

fn refused_rule(rules: &Path, id: &str) -> String {
    let args = list(rules);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args, &format!("{id}.toml"))
}

/// The largest resident size of any child process this test binary has waited for, in KiB:
/// every b2bready these tests ran.
#[cfg(unix)]
fn peak_child_memory_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss()
}

/// Other platforms keep no high-water mark of child processes: nothing to bound.
#[cfg(not(unix))]
fn peak_child_memory_kib() -> i64 {
    0
}

fn assert_memory_bounded() {
    let peak = peak_child_memory_kib();
    assert!(peak < 1024 * 1024, "a run took {peak} KiB");
}

#[test]
fn a_condition_cannot_open_local_files() {
    let dir = tempfile::tempdir().expect("temp");
    let secret = secret_file(dir.path());
    let secret = secret.to_str().expect("utf-8");
    let missing = dir.path().join("missing.csv");
    let missing = missing.to_str().expect("utf-8");
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let fifo = fifo.to_str().expect("utf-8");
    let glob = format!("{}/*.csv", dir.path().display());
    let shapes = [
        // The review's case: polars opened and parsed the file and quoted its first line.
        (
            format!("1 IN (SELECT n FROM read_csv('{secret}'))"),
            "a subquery is not allowed",
        ),
        (
            format!("EXISTS (SELECT * FROM read_csv('{secret}'))"),
            "a subquery is not allowed",
        ),
        (
            format!("(SELECT COUNT(*) FROM read_parquet('{glob}')) > 0"),
            "a subquery is not allowed",
        ),
        (
            format!("mail IN (SELECT n FROM '{secret}')"),
            "a subquery is not allowed",
        ),
        // A missing file used to say "No such file": an existence oracle.
        (
            format!("1 IN (SELECT n FROM read_csv('{missing}'))"),
            "a subquery is not allowed",
        ),
        // A FIFO used to hang the scan.
        (
            format!("1 IN (SELECT n FROM read_csv('{fifo}'))"),
            "a subquery is not allowed",
        ),
        (
            format!("read_csv('{secret}') IS NULL"),
            "the function read_csv is not allowed",
        ),
        (
            format!("read_csv('{missing}') IS NULL"),
            "the function read_csv is not allowed",
        ),
        (
            "columns('.*') IS NULL".into(),
            "the function columns is not allowed",
        ),
        ("COUNT(*) > 0".into(), "the function count is not allowed"),
        (
            "password_hash IS NULL".into(),
            "unknown column password_hash",
        ),
        (
            "t.mail IS NULL".into(),
            "the qualified name t.mail is not allowed",
        ),
        (
            "mail = 'a'; SELECT 1".into(),
            "unexpected ; after the expression",
        ),
    ];
    for (condition, why) in shapes {
        let rules = rule_folder(dir.path(), "reads-files", &condition, "m");
        let err = refused_rule(&rules, "reads-files");
        assert!(
            err.contains(&format!("reads-files.toml: condition: {why}")),
            "{condition}: {err}"
        );
        for path in ["shadow.csv", "missing.csv", "pipe.csv"] {
            assert!(!err.contains(path), "{err}");
        }
    }
    // The scan refuses the rule the same way before reading anything else.
    let rules = rule_folder(
        dir.path(),
        "reads-files",
        &format!("1 IN (SELECT n FROM read_csv('{secret}'))"),
        "m",
    );
    let contoso = contoso();
    refused(
        &[
            "scan",
            contoso.to_str().expect("utf-8"),
            "--rules",
            rules.to_str().expect("utf-8"),
        ],
        "reads-files.toml",
    );
    assert_memory_bounded();
}

#[test]
fn conditions_are_bounded_in_size_nesting_and_terms() {
    let dir = tempfile::tempdir().expect("temp");
    let or_chain = |n: usize| vec!["mail = 'a'"; n].join(" OR ");
    let cases = [
        // 4,000 terms took 5 GB and 25 s; 5,000 overflowed the stack.
        (
            or_chain(4000),
            "55996 characters; a condition may have at most 4096",
        ),
        (
            or_chain(5000),
            "69996 characters; a condition may have at most 4096",
        ),
        // 1,000 `||` fit in 4,096 characters and overflowed the stack too.
        (
            format!("{} = 'a'", vec!["id"; 1000].join("||")),
            "more than 256 terms",
        ),
        (or_chain(100), "more than 256 terms"),
        (
            format!("{}mail IS NULL{}", "(".repeat(200), ")".repeat(200)),
            "nested more than 32 levels deep",
        ),
        (
            format!("{}mail{} = 'a'", "LOWER(".repeat(300), ")".repeat(300)),
            "nested more than 32 levels deep",
        ),
    ];
    for (condition, why) in cases {
        let rules = rule_folder(dir.path(), "too-big", &condition, "m");
        let err = refused_rule(&rules, "too-big");
        assert!(
            err.contains(&format!("too-big.toml: condition: {why}")),
            "{err}"
        );
    }
    // Within the limits a long condition still loads and scans.
    let rules = rule_folder(dir.path(), "big-enough", &or_chain(60), "m");
    let json = scan_json(&contoso(), &["--rules", rules.to_str().expect("utf-8")]);
    assert!(
        json["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["id"] == "big-enough")
    );
    assert_memory_bounded();
}

#[test]
fn a_panic_inside_polars_is_an_error_naming_the_rule_file() {
    let dir = tempfile::tempdir().expect("temp");
    // polars-sql unwraps an error on GREATEST() and LEAST() without arguments; the panic used
    // to print the binary's "internal error" report. Should polars fix it, the rule must still
    // fail cleanly, which `refused` checks; the message below says the panic was caught.
    for condition in ["GREATEST() IS NULL", "LEAST() IS NULL"] {
        let rules = rule_folder(dir.path(), "makes-polars-panic", condition, "m");
        let contoso = contoso();
        let err = refused(
            &[
                "scan",
                contoso.to_str().expect("utf-8"),
                "--rules",
                rules.to_str().expect("utf-8"),
            ],
            "makes-polars-panic.toml",
        );
        assert!(
            err.contains(
                "makes-polars-panic.toml: condition: polars failed unexpectedly on this condition"
            ),
            "{err}"
        );
    }
}

#[test]
fn rule_messages_are_bounded_and_an_unclosed_brace_is_an_error() {
    let dir = tempfile::tempdir().expect("temp");
    // An unclosed `{` used to render as a value (or "(none)").
    let rules = rule_folder(dir.path(), "open-brace", "mail IS NULL", "mail is {mail");
    let err = refused_rule(&rules, "open-brace");
    assert!(
        err.contains("open-brace.toml: message: a '{' is never closed"),
        "{err}"
    );
    let rules = rule_folder(
        dir.path(),
        "long-message",
        "mail IS NULL",
        &"x".repeat(5000),
    );
    let err = refused_rule(&rules, "long-message");
    assert!(
        err.contains(
            "long-message.toml: message: 5000 characters; a message may have at most 1024"
        ),
        "{err}"
    );

    // A template that repeats a long value: every message stops at 4 KiB, with an ellipsis.
    let mut tenant = Tenant::base();
    let long_name = format!("Long {}", "n".repeat(300));
    let user = clean_guest(
        "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "long.name@contoso.com",
        "long.name@adatum.com",
    )
    .replace("Ana Costa (Adatum)", &long_name);
    tenant.add_users(&user);
    let snap = tenant.write(&dir.path().join("snapshot"));
    let rules = rule_folder(
        dir.path(),
        "repeats-values",
        "display_name LIKE 'Long%'",
        &"{display_name}".repeat(70),
    );
    let json = scan_json(&snap, &["--rules", rules.to_str().expect("utf-8")]);
    let messages: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "repeats-values")
        .map(|f| f["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 1, "{json}");
    assert!(messages[0].len() <= 4096, "{}", messages[0].len());
    assert!(messages[0].len() > 4000, "{}", messages[0].len());
    assert!(messages[0].ends_with('…'));
    assert_memory_bounded();
}

#[test]
fn invitation_message_templates_are_bounded_in_time_and_size() {
    let dir = tempfile::tempdir().expect("temp");
    let contoso = contoso();
    let out = dir.path().join("plan");
    let out = out.to_str().expect("utf-8");
    let cases = [
        // Nested loops used to run for hours.
        (
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
            "takes more than 20000 template steps to render",
        ),
        // 10 GB of output used to abort the process.
        (
            "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
            "longer than 16 KiB",
        ),
        ("{{ 'x' * 99999999 }}", "longer than 16 KiB"),
    ];
    for (template, why) in cases {
        let path = dir.path().join("message.j2");
        std::fs::write(&path, template).expect("write template");
        let err = refused(
            &[
                "plan",
                contoso.to_str().expect("utf-8"),
                "--out",
                out,
                "--message-file",
                path.to_str().expect("utf-8"),
            ],
            "message.j2",
        );
        assert!(err.contains(why), "{template}: {err}");
    }
    let path = dir.path().join("huge.j2");
    std::fs::write(&path, "x".repeat(100 * 1024)).expect("write template");
    let err = refused(
        &[
            "plan",
            contoso.to_str().expect("utf-8"),
            "--out",
            out,
            "--message-file",
            path.to_str().expect("utf-8"),
        ],
        "huge.j2",
    );
    assert!(err.contains("larger than 64 KiB"), "{err}");
    assert_memory_bounded();
}

#[cfg(unix)]
#[test]
fn rule_files_are_regular_files_and_errors_quote_none_of_them() {
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().expect("temp");
    let secret = secret_file(dir.path());

    // A link to a secret file used to print its first line in the TOML error.
    let rules = dir.path().join("linked");
    std::fs::create_dir(&rules).expect("mkdir");
    symlink(&secret, rules.join("leak.toml")).expect("symlink");
    let err = refused_rule(&rules, "leak");
    assert!(err.contains("leak.toml: is a symbolic link"), "{err}");

    // A real file that is not TOML: the error gives line and column, not the line itself.
    let rules = dir.path().join("plain");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::copy(&secret, rules.join("leak.toml")).expect("copy");
    let err = refused_rule(&rules, "leak");
    assert!(err.contains("leak.toml: line 1, column "), "{err}");

    // Wrong types and values in a rule file: still no source line.
    std::fs::write(
        rules.join("leak.toml"),
        format!("id = \"leak\"\ntitle = [\"{SECRET}\"]\n"),
    )
    .expect("write");
    let err = refused_rule(&rules, "leak");
    assert!(err.contains("leak.toml: line 2, column 9: "), "{err}");

    // A pipe used to hang the load.
    let rules = dir.path().join("pipe");
    std::fs::create_dir(&rules).expect("mkdir");
    let made = std::process::Command::new("mkfifo")
        .arg(rules.join("wait.toml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let err = refused_rule(&rules, "wait");
    assert!(err.contains("wait.toml: is not a regular file"), "{err}");

    // A file of many megabytes is not read whole.
    let rules = dir.path().join("large");
    std::fs::create_dir(&rules).expect("mkdir");
    let mut big = rule_text("big", "mail IS NULL", "m");
    big.push_str(&format!("# {}\n", "x".repeat(8 << 20)));
    std::fs::write(rules.join("big.toml"), big).expect("write");
    let err = refused_rule(&rules, "big");
    assert!(err.contains("big.toml: larger than 1 MiB"), "{err}");

    // A linked folder (here a loop) used to be followed, to a stack overflow for a loop.
    let rules = dir.path().join("looped");
    std::fs::create_dir(&rules).expect("mkdir");
    symlink("..", rules.join("up")).expect("symlink");
    let args = list(&rules);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = refused(&args, "up");
    assert!(err.contains("up: is a symbolic link"), "{err}");
    assert_memory_bounded();
}

#[test]
fn a_rule_folder_named_twice_is_read_once() {
    let dir = tempfile::tempdir().expect("temp");
    let rules = rule_folder(dir.path(), "named-twice", "mail IS NULL", "m");
    let folder = rules.to_str().expect("utf-8");
    let other_spelling = format!("{}/./", rules.display());
    let count = |json: &serde_json::Value| {
        json["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter(|r| r["id"] == "named-twice")
            .count()
    };
    // `--rules DIR` twice used to report the folder's rules as duplicates of themselves.
    let json = scan_json(
        &contoso(),
        &["--no-config", "--rules", folder, "--rules", &other_spelling],
    );
    assert_eq!(count(&json), 1);
    // So did a config's rule folder that `--rules` names again.
    let config = dir.path().join("b2bready.toml");
    std::fs::write(&config, "rule-folders = [\"rules-named-twice\"]\n").expect("write");
    let json = scan_json(
        &contoso(),
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "--rules",
            folder,
        ],
    );
    assert_eq!(count(&json), 1);
    // Two different files with one id are still refused.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).expect("mkdir");
    std::fs::write(
        copy.join("named-twice.toml"),
        rule_text("named-twice", "mail IS NULL", "m"),
    )
    .expect("write");
    let args = [
        "rules",
        "list",
        "--rules",
        folder,
        "--rules",
        copy.to_str().expect("utf-8"),
    ];
    let err = refused(&args, "named-twice.toml");
    assert!(err.contains("is already defined by"), "{err}");
}
