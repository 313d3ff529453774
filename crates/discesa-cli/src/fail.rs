//! One readable line and an exit code for every failure: bad input exits 2, anything else 1.

use std::fmt::Display;

/// A command failure: what to print and the process exit code.
#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub code: i32,
    /// Found from the command line alone, so every MPI rank finds it: only rank 0 says it.
    pub on_every_rank: bool,
    /// Already printed (or deliberately left unsaid) by the ranks' start-up vote: the process
    /// only exits with `code`.
    pub said: bool,
}

impl Fail {
    /// Bad input from the user (exit code 2).
    pub fn input(msg: impl Display) -> Self {
        Fail {
            message: one_line(&msg.to_string()),
            code: 2,
            on_every_rank: false,
            said: false,
        }
    }

    /// Bad input found from the command line and the number of ranks alone, the same on every
    /// rank of an MPI job (exit code 2).
    pub fn usage(msg: impl Display) -> Self {
        Fail {
            on_every_rank: true,
            ..Fail::input(msg)
        }
    }

    /// A failure while running (exit code 1).
    pub fn runtime(msg: impl Display) -> Self {
        Fail {
            message: one_line(&msg.to_string()),
            code: 1,
            on_every_rank: false,
            said: false,
        }
    }

    /// The failure this rank takes part in after the start-up vote: its line, when it has one,
    /// was printed already.
    pub fn said(code: i32) -> Self {
        Fail {
            message: String::new(),
            code,
            on_every_rank: false,
            said: true,
        }
    }

    /// Prints the failure's one line on stderr, naming `rank` when it is not rank 0.
    pub fn print(&self, rank: usize) {
        if rank == 0 {
            eprintln!("error: {}", self.message);
        } else {
            eprintln!("error: rank {rank}: {}", self.message);
        }
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Longest message printed: the messages themselves quote at most
/// [`discesa::snippet::MAX_SHOWN`] characters of any input, this bounds the whole line.
const MAX_MESSAGE: usize = 400;

fn one_line(s: &str) -> String {
    let line = s
        .split('\n')
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    let n = line.chars().count();
    if n <= MAX_MESSAGE {
        return line;
    }
    let head: String = line.chars().take(MAX_MESSAGE - 40).collect();
    format!("{head}… (message of {n} characters cut)")
}

/// Result of a command.
pub type CmdResult = Result<(), Fail>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_line() {
        let f = Fail::input("a\nb\n\n c");
        assert_eq!(f.message, "a | b |  c");
        assert_eq!(f.code, 2);
    }

    #[test]
    fn a_huge_message_is_cut() {
        let f = Fail::runtime(format!("bad: {}", "y".repeat(10_000)));
        assert!(f.message.chars().count() <= MAX_MESSAGE, "{}", f.message);
        assert!(f.message.ends_with("characters cut)"));
        assert_eq!(f.code, 1);
    }
}
