//! Instants on the wire are RFC 3339 strings. The server works with chrono's `DateTime<Utc>`; the
//! widget only needs the instant itself — to group and format it with the browser's own clock,
//! zone and calendar (`Intl`) — so its WebAssembly carries no date library: chrono's parser,
//! formatter and serde support were ~30 KB of it.

#[cfg(feature = "ssr")]
pub type Timestamp = chrono::DateTime<chrono::Utc>;

#[cfg(not(feature = "ssr"))]
pub use client::Timestamp;

/// What the interface needs from an instant, in both builds.
pub trait Instant {
    /// Milliseconds since the Unix epoch.
    fn epoch_millis(&self) -> i64;
    /// The instant as RFC 3339 (a `<time datetime>` attribute).
    fn rfc3339(&self) -> String;
}

#[cfg(feature = "ssr")]
impl Instant for Timestamp {
    fn epoch_millis(&self) -> i64 {
        self.timestamp_millis()
    }

    fn rfc3339(&self) -> String {
        self.to_rfc3339()
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day number since 1970-01-01 (`civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// The day number (since 1970-01-01) of an instant in a zone `offset_minutes` east of UTC.
pub fn local_day(epoch_millis: i64, offset_minutes: i32) -> i64 {
    (epoch_millis + i64::from(offset_minutes) * 60_000).div_euclid(MS_PER_DAY)
}

/// Milliseconds since the epoch of an RFC 3339 timestamp (`2026-11-23T10:00:00.123+05:00`, `Z`,
/// any number of fraction digits). `None` for anything else, including impossible dates.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let sep = |at: usize, ok: &[u8]| b.get(at).is_some_and(|c| ok.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let month_days = [31, if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if sep(i, b".") {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        millis = num(i + 1, digits.min(3))? * [100, 10, 1][digits.min(3) - 1];
        i += 1 + digits;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 60 + om) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + sec.min(59) * 1000 + millis)
}

#[cfg(not(feature = "ssr"))]
mod client {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// An instant as the widget holds it: the server's RFC 3339 text and its epoch milliseconds.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Timestamp {
        text: String,
        millis: i64,
    }

    impl super::Instant for Timestamp {
        fn epoch_millis(&self) -> i64 {
            self.millis
        }

        fn rfc3339(&self) -> String {
            self.text.clone()
        }
    }

    impl Serialize for Timestamp {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&self.text)
        }
    }

    impl<'de> Deserialize<'de> for Timestamp {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            match super::parse_rfc3339(&text) {
                Some(millis) => Ok(Timestamp { text, millis }),
                None => Err(serde::de::Error::custom("invalid RFC 3339 timestamp")),
            }
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    #[test]
    fn parses_what_chrono_writes_to_the_same_instant() {
        for t in [
            Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::microseconds(123_456),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 1).unwrap(),
            Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).unwrap(),
        ] {
            assert_eq!(parse_rfc3339(&t.to_rfc3339()), Some(t.timestamp_millis()), "{t}");
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(parse_rfc3339(json.trim_matches('"')), Some(t.timestamp_millis()), "{json}");
        }
    }

    #[test]
    fn offsets_and_fractions() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        for s in ["2026-11-23T15:30:00+05:30", "2026-11-23T01:00:00.5-08:00", "2026-01-01T00:00:00.987654321Z"] {
            assert_eq!(parse_rfc3339(s), Some(at(s)), "{s}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for s in ["", "2026-11-23", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00:00+5:00", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zjunk", "२०२६-11-23T10:00:00Z"] {
            assert_eq!(parse_rfc3339(s), None, "{s:?}");
        }
    }

    #[test]
    fn days_round_trip_and_follow_the_zone() {
        for z in [-800_000, -1, 0, 1, 19_000, 20_415, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), z);
        }
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 22, 30, 0).unwrap().timestamp_millis();
        assert_eq!(civil_from_days(local_day(t, 0)), (2026, 11, 23));
        assert_eq!(civil_from_days(local_day(t, 120)), (2026, 11, 24), "UTC+2 is past midnight");
        assert_eq!(civil_from_days(local_day(t, -600)), (2026, 11, 23));
    }
}
