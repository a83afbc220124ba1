//! Parsing `--time-start` values: ISO 8601 date-times, `@SECONDS` since the epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `s` as a UTC instant.
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with `T` or a space, followed by
/// `Z`, `±HH:MM`, `±HHMM` or nothing (UTC), and `@SECONDS` (as `date -d @…`). Instants before
/// 1970 are refused: the `time` system call returns seconds as its return value, where small
/// negative numbers mean errors.
pub(crate) fn parse(s: &str) -> Result<SystemTime, String> {
    let secs_nanos = if let Some(n) = s.strip_prefix('@') {
        let secs: u64 = n
            .parse()
            .map_err(|_| "expected @SECONDS, a non-negative integer".to_owned())?;
        (
            i64::try_from(secs).map_err(|_| "out of range".to_owned())?,
            0,
        )
    } else {
        parse_datetime(s.as_bytes())?
    };
    let (secs, nanos) = secs_nanos;
    let secs = u64::try_from(secs).map_err(|_| "before 1970-01-01T00:00:00Z".to_owned())?;
    // A bound that keeps every shifted timespec far from overflow.
    if secs > 253_402_300_799 {
        return Err("after 9999-12-31T23:59:59Z".to_owned());
    }
    Ok(UNIX_EPOCH + Duration::new(secs, nanos))
}

fn parse_datetime(b: &[u8]) -> Result<(i64, u32), String> {
    const FORMAT: &str = "expected YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH:MM] or @SECONDS";
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4).ok_or(FORMAT)?;
    p.expect(b'-').ok_or(FORMAT)?;
    let month = p.digits(2).ok_or(FORMAT)?;
    p.expect(b'-').ok_or(FORMAT)?;
    let day = p.digits(2).ok_or(FORMAT)?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0u32);
    if p.expect(b'T')
        .or_else(|| p.expect(b't'))
        .or_else(|| p.expect(b' '))
        .is_some()
    {
        hour = p.digits(2).ok_or(FORMAT)?;
        p.expect(b':').ok_or(FORMAT)?;
        minute = p.digits(2).ok_or(FORMAT)?;
        if p.expect(b':').is_some() {
            second = p.digits(2).ok_or(FORMAT)?;
            if p.expect(b'.').is_some() || p.expect(b',').is_some() {
                let start = p.i;
                let mut scale = 100_000_000;
                while let Some(d) = p.digit() {
                    nanos += d as u32 * scale;
                    scale /= 10;
                }
                if p.i == start {
                    return Err(FORMAT.to_owned());
                }
            }
        }
    }
    let offset_secs = match p.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let h = p.digits(2).ok_or(FORMAT)?;
            let _ = p.expect(b':');
            let m = p.digits(2).ok_or(FORMAT)?;
            if h > 23 || m > 59 {
                return Err("bad UTC offset".to_owned());
            }
            let o = h * 3600 + m * 60;
            if sign == b'+' { o } else { -o }
        }
        Some(_) => return Err(FORMAT.to_owned()),
    };
    if p.next().is_some() {
        return Err(FORMAT.to_owned());
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date".to_owned());
    }
    // 60 admits a leap second, read as the next second (as `date` does).
    if hour > 23 || minute > 59 || second > 60 {
        return Err("no such time of day".to_owned());
    }
    let days = days_from_civil(year, month, day);
    Ok((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs,
        nanos,
    ))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
    fn digit(&mut self) -> Option<i64> {
        let c = *self.b.get(self.i)?;
        c.is_ascii_digit().then(|| {
            self.i += 1;
            i64::from(c - b'0')
        })
    }
    fn digits(&mut self, n: usize) -> Option<i64> {
        (0..n).try_fold(0, |acc, _| Some(acc * 10 + self.digit()?))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era-based algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Result<u64, String> {
        parse(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(secs("2000-01-01T00:00:00Z"), Ok(946_684_800));
        assert_eq!(secs("2000-01-01"), Ok(946_684_800));
        assert_eq!(secs("2000-01-01 01:00+01:00"), Ok(946_684_800));
        assert_eq!(secs("1999-12-31T19:00:00-0500"), Ok(946_684_800));
        assert_eq!(secs("2024-02-29T12:34:56Z"), Ok(1_709_210_096));
        assert_eq!(secs("@1234567890"), Ok(1_234_567_890));
        let t = parse("2000-01-01T00:00:00.25Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(),
            250_000_000
        );
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "",
            "2000",
            "2000-13-01",
            "2023-02-29",
            "2000-01-01T24:00Z",
            "2000-01-01T00:00:00.Z",
            "2000-01-01T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "@-5",
            "@x",
            "10000-01-01",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
