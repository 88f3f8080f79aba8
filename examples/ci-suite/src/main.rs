//! A CI test suite run as an Indexed Job: each pod runs one shard, the tests whose position modulo `SHARDS` is
//! its `JOB_COMPLETION_INDEX` (which the Job controller sets), prints one line per test and a summary, and exits
//! non-zero when a test of its shard failed, which fails that index and, past the `backoffLimit`, the Job.
//!
//! The suite tests a small library that lives here too (Roman numerals and word counts), as a project's own
//! suite would test its code.

use std::process::ExitCode;

use guest_sdk::{config, log};

/// A test: its name and its body, which returns why it failed.
type Test = (&'static str, fn() -> Result<(), String>);

const SUITE: [Test; 8] = [
    ("roman_one", || expect(roman(1).as_str(), "I")),
    ("roman_four", || expect(roman(4).as_str(), "IV")),
    ("roman_nine", || expect(roman(9).as_str(), "IX")),
    ("roman_1994", || expect(roman(1994).as_str(), "MCMXCIV")),
    ("roman_3999", || expect(roman(3999).as_str(), "MMMCMXCIX")),
    ("words_empty", || expect(&words(""), &0)),
    ("words_spaces", || expect(&words("  a  b\tc\n"), &3)),
    ("words_unicode", || expect(&words("café au lait"), &3)),
];

fn main() -> ExitCode {
    let shard = match shard() {
        Ok(shard) => shard,
        Err(e) => {
            log::error!("cannot tell which shard to run", error = e.to_string());
            return ExitCode::from(2);
        }
    };
    let (index, shards) = shard;
    let mine: Vec<&Test> =
        SUITE.iter().enumerate().filter(|(i, _)| i % shards == index).map(|(_, t)| t).collect();
    println!("shard {index}/{shards}: running {} of {} tests", mine.len(), SUITE.len());
    let mut failed = 0;
    for (name, test) in &mine {
        match test() {
            Ok(()) => println!("ok - {name}"),
            Err(why) => {
                failed += 1;
                println!("not ok - {name}: {why}");
            }
        }
    }
    println!("shard {index}/{shards}: {} passed, {failed} failed", mine.len() - failed);
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// This pod's shard and the number of shards.
fn shard() -> Result<(usize, usize), config::Error> {
    let index: usize = config::parse_or("JOB_COMPLETION_INDEX", 0)?;
    let shards: usize = config::parse_or("SHARDS", 1)?;
    Ok((index, shards.max(1)))
}

fn expect<T: PartialEq + std::fmt::Debug + ?Sized>(got: &T, want: &T) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("got {got:?}, want {want:?}")) }
}

/// `n` (1 to 3999) in Roman numerals.
fn roman(mut n: u32) -> String {
    const DIGITS: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, digits) in DIGITS {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

/// The number of whitespace-separated words.
fn words(text: &str) -> usize {
    text.split_whitespace().count()
}
