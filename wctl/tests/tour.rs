//! The README's five-minute tour, run line by line against a real `wctl up` with the demo application, so the
//! documentation cannot drift from the product. A line's `# → TEXT` comment is part of what it must print.

// A failed unwrap is a failed test, with its location; that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};

/// One runnable line of the tour: its words and the text its output must contain.
struct Step {
    line: String,
    words: Vec<String>,
    expected: Option<String>,
}

/// The lines of the tour's shell block, between `<!-- tour:start -->` and `<!-- tour:end -->`.
fn tour() -> Vec<Step> {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let start = readme.find("<!-- tour:start -->").expect("the README has a tour");
    let end = readme.find("<!-- tour:end -->").expect("the tour ends");
    let block = &readme[start..end];
    let body = block.split_once("```bash\n").expect("a bash block").1;
    let body = body.split_once("```").expect("a closed block").0;
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (command, comment) = split_comment(line);
            let expected = comment.and_then(|c| c.split_once('→')).map(|(_, text)| text.trim().to_owned());
            Step { line: line.to_owned(), words: shell_words(command), expected }
        })
        .collect()
}

/// A line's command and its trailing `# comment` (a `#` after whitespace, outside quotes).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return (line[..i].trim(), Some(&line[i + 1..])),
            _ => {}
        }
        previous = c;
    }
    (line.trim(), None)
}

/// Splits a command into words as a shell would for these simple lines (quotes, no expansions).
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in command.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `curl http://HOST:PORT/PATH`: the answer, when it is a 200.
fn curl(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (address, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/1.1 200").then_some(answer)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_tour_runs_as_written() {
    let cluster =
        support::Cluster::up(&["-f", &support::root().join("examples/demo.yaml").display().to_string()])
            .await;
    let steps = tour();
    assert!(steps.len() > 10, "the tour has its steps");
    for step in steps {
        let (program, args) = step.words.split_first().expect("a command");
        let output = match program.as_str() {
            // The test stands for these: its cluster is already up, its kubeconfig exported.
            "alias" | "export" => continue,
            "wctl" => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                // Relative paths in the tour are relative to the repository's root.
                let args: Vec<String> = args
                    .iter()
                    .map(|a| {
                        if a.starts_with("examples/") {
                            support::root().join(a).display().to_string()
                        } else {
                            (*a).to_owned()
                        }
                    })
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let run = cluster.wctl(&args).await;
                assert!(run.ok, "the tour's `{}` failed: {}{}", step.line, run.stdout, run.stderr);
                run.stdout
            }
            "curl" => {
                let url = args.first().expect("a URL").clone();
                // The Service answers once its endpoints are ready; a user would retry too.
                support::eventually("the Service to answer", || {
                    let url = url.clone();
                    async move { tokio::task::spawn_blocking(move || curl(&url)).await.unwrap() }
                })
                .await
            }
            other => panic!("the tour runs {other:?}, which this test does not know how to run"),
        };
        if let Some(expected) = &step.expected {
            assert!(
                output.contains(expected.as_str()),
                "the tour's `{}` should print {expected:?}: {output}",
                step.line
            );
        }
    }
}

#[test]
fn tour_lines_split_as_a_shell_splits_them() {
    assert_eq!(
        shell_words("wctl get pods -o 'jsonpath={.items[*]}' \"a b\""),
        ["wctl", "get", "pods", "-o", "jsonpath={.items[*]}", "a b"]
    );
    assert_eq!(split_comment("wctl get  # → x"), ("wctl get", Some(" → x")));
    assert_eq!(split_comment("wctl get -o 'a#b'"), ("wctl get -o 'a#b'", None));
}
