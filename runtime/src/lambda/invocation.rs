//! What an invocation is: its type, its output, how it fails, and the forms of a function's
//! name. A leaf of `lambda`, used by both ways of reaching a function.

use bytes::Bytes;

/// How a function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Wait for the result.
    RequestResponse,
    /// `X-Amz-Invocation-Type: Event`: queued, not awaited.
    Event,
}

/// What a function returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The payload (the result, or the error object when the function failed).
    pub payload: Bytes,
    /// The function failed (`X-Amz-Function-Error`); the payload is
    /// `{"errorMessage", "errorType", "stackTrace"}`.
    pub function_error: bool,
}

/// Why there is no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// No answer within the integration timeout.
    Timeout,
    /// The function could not be invoked (unknown function, no credentials, the Lambda
    /// service refused, the local process could not start).
    Failed(String),
    /// The payload is over Lambda's 6 MB synchronous invocation limit.
    TooLarge,
}

/// Lambda's limit on a synchronous invocation's payload.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// Lambda's limit on a synchronous invocation's (buffered) answer: 6 MB and a hundred bytes,
/// as its error says. More is never read into memory.
pub const MAX_RESPONSE: usize = 6_291_556;

/// The function's name in any of the forms Lambda accepts: `name`, `name:alias`,
/// `123456789012:function:name`, `arn:aws:lambda:region:account:function:name[:alias]`.
/// Read on every call (the integration's URI may hold stage variables), so without a list
/// of the parts (collecting them was 2% of a local Lambda call's instructions) and with the
/// colons found by a plain byte loop: `str::split(':')`'s searcher cost 130 instructions a
/// part, 1,000 of a call's 63,000.
pub fn function_name(function: &str) -> &str {
    let (first, mut tail) = split_colon(function);
    let mut previous = first;
    while let Some(rest) = tail {
        let (part, next) = split_colon(rest);
        if previous == "function" {
            return part;
        }
        (previous, tail) = (part, next);
    }
    first
}

/// `s` up to its first `:`, and what follows that colon when there is one.
fn split_colon(s: &str) -> (&str, Option<&str>) {
    // `:` is ASCII: both sides of it are character boundaries.
    match s.bytes().position(|b| b == b':') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}
