//! Application credentials' access rules: which request paths a rule's path pattern allows,
//! as keystonemiddleware's `_path_matches` reads patterns: `*` and `{name}` are one path
//! segment (one or more characters other than `/`), `**` is anything, other characters stand
//! for themselves (keystonemiddleware puts them into a regular expression unescaped, so there a
//! `.` in a pattern matches any character; here it matches only `.`).

/// One piece of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Literal(char),
    Segment,
    Anything,
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' => match chars[i..].iter().position(|c| *c == '}') {
                Some(end) => {
                    out.push(Piece::Segment);
                    i += end + 1;
                }
                // an unclosed brace matches nothing in keystonemiddleware's expression: skipped
                None => i += 1,
            },
            '}' => i += 1,
            '*' if chars.get(i + 1) == Some(&'*') => {
                out.push(Piece::Anything);
                i += 2;
            }
            '*' => {
                out.push(Piece::Segment);
                i += 1;
            }
            c => {
                out.push(Piece::Literal(c));
                i += 1;
            }
        }
    }
    out
}

/// Whether `path` matches `pattern` as a whole.
pub(crate) fn path_matches(path: &str, pattern: &str) -> bool {
    let pieces = pieces(pattern);
    let path: Vec<char> = path.chars().collect();
    // ok[j]: the pieces from the current one on match path[j..]; filled from the last piece
    // back, so the work is pieces x path, whatever the pattern
    let n = path.len();
    let mut ok = vec![false; n + 1];
    ok[n] = true;
    for piece in pieces.iter().rev() {
        let mut next = vec![false; n + 1];
        match piece {
            Piece::Literal(c) => {
                for j in 0..n {
                    next[j] = path[j] == *c && ok[j + 1];
                }
            }
            Piece::Anything => {
                let mut any = false;
                for j in (0..=n).rev() {
                    any |= ok[j];
                    next[j] = any;
                }
            }
            Piece::Segment => {
                // one or more non-slash characters, then the rest
                for j in (0..n).rev() {
                    if path[j] != '/' {
                        next[j] = ok[j + 1] || next[j + 1];
                    }
                }
            }
        }
        ok = next;
    }
    ok[0]
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn patterns_as_keystonemiddleware_reads_them() {
        let cases = [
            ("/v2.1/servers", "/v2.1/servers", true),
            ("/v2.1/servers/", "/v2.1/servers", false),
            ("/v2.1/servers/abc", "/v2.1/servers/*", true),
            ("/v2.1/servers/abc", "/v2.1/servers/{server_id}", true),
            ("/v2.1/servers/", "/v2.1/servers/*", false),
            ("/v2.1/servers/abc/ips", "/v2.1/servers/*", false),
            ("/v2.1/servers/abc/ips", "/v2.1/servers/**", true),
            ("/v2.1/servers/", "/v2.1/servers/**", true),
            ("/v2.1/servers/a/b/c", "/v2.1/**/c", true),
            ("/v2.1/servers/a/b/c", "/v2.1/*/c", false),
            ("/v1/proxy/x/y", "/v1/*/*/y", true),
            ("/v1/proxy", "**", true),
            ("", "**", true),
            ("/a", "*", false),
            ("a", "*", true),
            ("/v1/abc", "/v1/a*", true),
            ("/v1/ab", "/v1/{x}b", true),
            ("/v1/b", "/v1/{x}b", false),
            // three stars: `**` then `*`
            ("/v1/ab", "/v1/***", true),
            ("/v1/a/b", "/v1/***", true),
            ("/v1/", "/v1/***", false),
        ];
        for (path, pattern, want) in cases {
            assert_eq!(path_matches(path, pattern), want, "{path} ~ {pattern}");
        }
    }

    #[test]
    fn many_wildcards_stay_cheap() {
        let pattern = "**a".repeat(60) + "b";
        let path = "a".repeat(5000);
        assert!(!path_matches(&path, &pattern));
    }
}
